// Forms marked data-busy="…" (imports): once sent, the button cannot be pressed again
// and a line says what is happening and for how long, until the next page arrives.
(function () {
  "use strict";
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      var buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
      var line = form.querySelector(".busy");
      if (!line) {
        line = document.createElement("p");
        line.className = "busy muted small";
        line.setAttribute("role", "status");
        form.appendChild(line);
      }
      var started = Date.now();
      var file = form.querySelector("input[type=file]");
      var size = file && file.files && file.files[0] ? file.files[0].size : 0;
      var what = form.dataset.busy + (size ? " (" + (size / 1048576).toFixed(1) + " MB)" : "");
      function tick() {
        var seconds = Math.round((Date.now() - started) / 1000);
        line.textContent = what + " " + seconds + " s";
      }
      // After the submit has been taken: a disabled button would not submit at all.
      setTimeout(function () {
        buttons.forEach(function (b) { b.disabled = true; b.setAttribute("aria-busy", "true"); });
        line.hidden = false;
        tick();
        setInterval(tick, 1000);
      }, 0);
    });
  });
})();
