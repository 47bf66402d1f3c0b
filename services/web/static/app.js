// FastTrack web app: the little that helps in the browser. Every page works
// without it; htmx (served beside it) refreshes the live parts.
(function () {
  "use strict";
  var zh = document.documentElement.lang === "zh-CN";

  function span(seconds) {
    var left = Math.abs(seconds);
    var m = Math.floor(left / 60) % 60, h = Math.floor(left / 3600) % 24,
        d = Math.floor(left / 86400);
    var mm = (m < 10 ? "0" : "") + m;
    if (d) { return zh ? d + " 天 " + h + " 小时" : d + " d " + h + " h"; }
    if (h) { return zh ? h + " 小时 " + mm + " 分" : h + " h " + mm + " min"; }
    var mins = left ? Math.max(m, 1) : 0;
    return zh ? mins + " 分钟" : mins + " min";
  }

  // Countdowns keep ticking between refreshes; a row turns red when its
  // time is up (its text says so too: colour is never the only sign).
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) { return; }
      var s = Math.round((due - now) / 1000);
      el.textContent = s >= 0 ? (zh ? "剩余 " + span(s) : span(s) + " left")
                              : (zh ? "已逾期 " + span(s) : "overdue by " + span(s));
      var row = el.closest("tr");
      if (row) { row.classList.toggle("overdue", s < 0); }
    });
  }

  // A form marked data-once sends once: a double click is one submission
  // (the Idempotency-Key it carries makes a repeat harmless anyway).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-once")) { return; }
    if (form.getAttribute("data-sent")) { e.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.setAttribute("aria-disabled", "true");
    });
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (f) {
      f.removeAttribute("data-sent");
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 10000);
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
  document.addEventListener("htmx:afterSwap", tick);
})();
