// Time inputs that cannot go wrong quietly: beside each one, the moment it will save as,
// in the user's zone and in UTC, and on the incident form the resulting TTD and TTR.
// The server reads the same text the same way (catalog.incidents.milestones.read_when);
// without this script the form works the same, only without the preview.
(function () {
  "use strict";

  var RELATIVE = /^-\s*(?:(\d{1,4})\s*h)?\s*(?:(\d{1,5})\s*m(?:in)?)?$/i;
  var CLOCK = /^(\d{1,2}):(\d{2})$/;
  var LOCAL = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?$/;
  var MAX_BACK = 30 * 86400000;

  // Milliseconds the zone is ahead of UTC at the instant `ms`.
  function offset(zone, ms) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    var asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24,
      +parts.minute, +parts.second);
    return asUtc - Math.floor(ms / 1000) * 1000;
  }

  // A wall-clock time in `zone` as an instant, read as the server reads it (zoneinfo,
  // fold=0): in a DST fold the first occurrence, in a gap the offset from before it.
  function fromLocal(zone, y, mo, d, h, mi, s) {
    var wall = Date.UTC(y, mo - 1, d, h, mi, s || 0);
    var before = offset(zone, wall - 43200000), after = offset(zone, wall + 43200000);
    if (offset(zone, wall - before) === before) return wall - before;
    if (offset(zone, wall - after) === after) return wall - after;
    return wall - before;
  }

  function todayIn(zone, now) {
    var local = new Date(now + offset(zone, now));
    return [local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate()];
  }

  // The instant `text` means, null for empty, NaN for unreadable.
  function read(text, zone, now) {
    text = text.trim();
    if (text === "") return null;
    if (text.toLowerCase() === "now") return now;
    var m = RELATIVE.exec(text);
    if (m && (m[1] || m[2])) {
      var back = ((+m[1] || 0) * 60 + (+m[2] || 0)) * 60000;
      return back > MAX_BACK ? NaN : now - back;
    }
    m = CLOCK.exec(text);
    if (m && +m[1] < 24 && +m[2] < 60) {
      var day = todayIn(zone, now);
      var at = fromLocal(zone, day[0], day[1], day[2], +m[1], +m[2]);
      if (at <= now + 5 * 60000) return at;
      var yesterday = new Date(Date.UTC(day[0], day[1] - 1, day[2]) - 86400000);
      return fromLocal(zone, yesterday.getUTCFullYear(), yesterday.getUTCMonth() + 1,
        yesterday.getUTCDate(), +m[1], +m[2]);
    }
    m = LOCAL.exec(text);
    if (m) {
      var date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
      if (date.getUTCMonth() !== +m[2] - 1 || date.getUTCDate() !== +m[3] || +m[4] > 23 || +m[5] > 59) {
        return NaN;  // 2026-02-30 is not a day, as the server says
      }
      return fromLocal(zone, +m[1], +m[2], +m[3], +m[4], +m[5], +m[6]);
    }
    var parsed = Date.parse(text.replace(" ", "T"));
    return /[zZ]|[+-]\d\d:?\d\d$/.test(text) && !isNaN(parsed) ? parsed : NaN;
  }

  function show(ms, zone) {
    var options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    var local = new Intl.DateTimeFormat("en-CA", Object.assign(
      { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" },
      options)).format(new Date(ms));
    var utc = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: "UTC" }, options))
      .format(new Date(ms));
    return local.replace(",", "") + " · " + utc + " UTC";
  }

  function duration(ms) {
    if (ms < 0) return "negative: check the order";
    var minutes = Math.floor(ms / 60000);
    if (minutes < 60) return minutes + "m";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + "h " + String(minutes % 60).padStart(2, "0") + "m";
    return Math.floor(hours / 24) + "d " + (hours % 24) + "h";
  }

  function setUp(form) {
    var zone = form.getAttribute("data-zone") || "UTC";
    var inputs = form.querySelectorAll("input[data-when]");
    var preview = form.querySelector("[data-when-preview]");
    var ttrFrom = form.getAttribute("data-ttr-from") || "detected";

    function value(name) {
      var input = form.querySelector("input[name='" + name + "']");
      return input ? read(input.value, zone, Date.now()) : null;
    }

    function update() {
      inputs.forEach(function (input) {
        var hint = input.parentNode.querySelector(".when-hint");
        var at = read(input.value, zone, Date.now());
        hint.textContent = at === null ? "" : isNaN(at) ? "not a time this form reads" : "= " + show(at, zone);
        hint.classList.toggle("bad", at !== null && isNaN(at));
      });
      if (!preview) return;
      var started = value("started_at"), detected = value("detected_at"), recovered = value("recovered_at");
      var parts = [];
      if (started && detected && !isNaN(started) && !isNaN(detected)) {
        parts.push("TTD " + duration(detected - started));
      }
      var from = ttrFrom === "started" ? started : detected;
      if (from && recovered && !isNaN(from) && !isNaN(recovered)) {
        parts.push("TTR " + duration(recovered - from));
      } else if (from && !recovered) {
        parts.push("TTR: still open");
      }
      preview.textContent = parts.join(" · ");
    }

    inputs.forEach(function (input) {
      var hint = document.createElement("span");
      hint.className = "when-hint small";
      hint.setAttribute("aria-live", "polite");
      var now = document.createElement("button");
      now.type = "button";
      now.className = "btn btn-small btn-link when-now";
      now.textContent = "now";
      now.tabIndex = -1;  // a pointer's shortcut: from the keyboard, type "now" (Tab stays field to field)
      now.setAttribute("aria-label", "Set " + (input.labels[0] ? input.labels[0].textContent : "this time") + " to now");
      now.addEventListener("click", function () {
        input.value = "now";
        update();
        input.focus();
      });
      var zoneNote = input.nextElementSibling;
      var anchor = zoneNote && zoneNote.classList.contains("zone") ? zoneNote : input;
      anchor.insertAdjacentElement("afterend", hint);
      input.insertAdjacentElement("afterend", now);
      input.addEventListener("input", update);
    });
    update();
  }

  // The account page: offer the browser's zone when it is not the one times are shown in.
  function suggestZone(box) {
    var browser = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var select = document.getElementById(box.getAttribute("data-for"));
    if (!browser || !select || browser === box.getAttribute("data-suggest-zone")) return;
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === browser; });
    if (!known) return;
    box.querySelector("[data-browser-zone]").textContent = browser;
    box.hidden = false;
    box.querySelector("button").addEventListener("click", function () {
      select.value = browser;
      box.hidden = true;
      select.focus();
    });
  }

  document.querySelectorAll("form[data-zone]").forEach(setUp);
  document.querySelectorAll("[data-suggest-zone]").forEach(suggestZone);
})();
