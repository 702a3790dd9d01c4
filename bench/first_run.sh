#!/usr/bin/env bash
# Fresh clone to first page: how long `make run` takes from a clean clone until
# the login page answers, and how big the virtualenv it made is.
#
#   bash bench/first_run.sh            # clones HEAD of this repo into a temp dir
#   PORT=5099 bash bench/first_run.sh
#
# The pip cache of the machine is used as pip would use it; run it twice to see a
# cold and a warm figure (PIP_NO_CACHE_DIR=1 forces cold downloads).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
port="${PORT:-5099}"
work="$(mktemp -d)"
trap 'kill -- -$pid 2>/dev/null || true; rm -rf "$work"' EXIT
git clone -q "$repo" "$work/app"
cd "$work/app"
start=$(date +%s.%N)
set -m
(make run PORT="$port" >"$work/run.log" 2>&1) &
pid=$!
set +m
until curl -fs -o /dev/null "http://127.0.0.1:$port/login"; do
  if ! kill -0 "$pid" 2>/dev/null; then echo "make run died:"; tail -20 "$work/run.log"; exit 1; fi
  sleep 0.5
done
end=$(date +%s.%N)
printf 'first page after: %.1f s\n' "$(echo "$end - $start" | bc)"
printf 'virtualenv size:  %s\n' "$(du -sh .venv | cut -f1)"
printf 'packages:         %s\n' "$(.venv/bin/pip list --format=freeze 2>/dev/null | wc -l)"
echo "--- what make run printed (first 30 lines)"
grep -v "WARNING: Location" "$work/run.log" | head -30
