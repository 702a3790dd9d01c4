-- wrk script for bench/load.py: a realistic mix of pages, API reads and writes.
-- Arguments (after `--`): token cookie max_id since_90d since_1y started_at mix
--   mix: "full" (the weighted mix below), or a single path to GET (a read-only tier).
-- Every write creates an incident; every edit PATCHes one this thread created, exactly
-- once, at version 1, so no two requests ever race for the same version (a 409 here
-- would be the benchmark's fault, not the app's).
-- Each request carries what its real client would: API calls the token only (an
-- integration has no browser session), pages the session cookie only.

local token, cookie, max_id, since90, since1y, started_at, mix
local created = {}
local kinds = {}
local n = 0

local WEIGHTS = {
  {"dashboard", 10}, {"list_page", 10}, {"list_api", 25}, {"detail_page", 15},
  {"detail_api", 13}, {"metrics_vector", 13}, {"metrics_month", 12},
  {"create", 1}, {"edit", 1},
}

function init(args)
  token, cookie, max_id = args[1], args[2], tonumber(args[3])
  since90, since1y, started_at, mix = args[4], args[5], args[6], args[7]
  for _, pair in ipairs(WEIGHTS) do
    for _ = 1, pair[2] do table.insert(kinds, pair[1]) end
  end
  -- Spread the kinds so every thread's first requests are already a mix.
  for i = #kinds, 2, -1 do
    local j = math.random(i)
    kinds[i], kinds[j] = kinds[j], kinds[i]
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
  if mix ~= "full" then
    -- One fixed GET: wrk builds it once and skips Lua per request and per response,
    -- so the load generator spends no more of the shared cores than it must.
    wrk.path = mix
    if mix:sub(1, 5) == "/api/" then
      wrk.headers["Authorization"] = "Bearer " .. token
    else
      wrk.headers["Cookie"] = cookie
    end
    request = nil
    response = nil
  end
end

local function page()
  return {["Cookie"] = cookie}
end

local function headers(extra)
  local h = {["Authorization"] = "Bearer " .. token}
  if extra then h["Content-Type"] = "application/json" end
  return h
end

function request()
  n = n + 1
  local kind = kinds[(n % #kinds) + 1]
  if kind == "edit" and #created == 0 then kind = "create" end
  if kind == "dashboard" then
    return wrk.format("GET", "/", page())
  elseif kind == "list_page" then
    return wrk.format("GET", "/incidents/?per_page=50", page())
  elseif kind == "list_api" then
    return wrk.format("GET", "/api/v1/incidents?per_page=50", headers())
  elseif kind == "detail_page" then
    return wrk.format("GET", "/incidents/" .. math.random(1, max_id), page())
  elseif kind == "detail_api" then
    return wrk.format("GET", "/api/v1/incidents/" .. math.random(1, max_id), headers())
  elseif kind == "metrics_vector" then
    return wrk.format("GET", "/api/v1/metrics?group_by=vector&since=" .. since90, headers())
  elseif kind == "metrics_month" then
    return wrk.format("GET", "/api/v1/metrics?group_by=month&since=" .. since1y, headers())
  elseif kind == "create" then
    local body = '{"title":"Load test: vector DB p99 over 2 s","severity":"SEV3",' ..
      '"service":"rag-search","team":"load","vectors":["dependency-latency"],' ..
      '"started_at":"' .. started_at .. '","detected_at":"' .. started_at .. '"}'
    return wrk.format("POST", "/api/v1/incidents", headers(true), body)
  else
    local id = table.remove(created)
    local body = '{"version":1,"summary":"Edited under load: the cache was warmed."}'
    return wrk.format("PATCH", "/api/v1/incidents/" .. id, headers(true), body)
  end
end

function response(status, hdrs, body)
  if status == 201 then
    local id = body:match('"id":%s*(%d+)')
    if id then table.insert(created, id) end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
