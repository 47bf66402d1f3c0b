// The supervision board: each row turns amber when its deadline is near
// (data-warn) and red when it has passed (data-due), between the board's
// refreshes too; the words beside the countdown say so (colour is never
// the only sign).
(function () {
  "use strict";
  var zh = document.documentElement.lang === "zh-CN";
  var WORDS = {ok: zh ? "正常" : "On time", warn: zh ? "临近期限" : "Deadline near",
               overdue: zh ? "已逾期" : "Overdue"};

  function paint() {
    var now = Date.now();
    document.querySelectorAll("#board tr .countdown[data-due]").forEach(function (el) {
      var row = el.closest("tr");
      var due = Date.parse(el.getAttribute("data-due"));
      var warn = Date.parse(el.getAttribute("data-warn") || "");
      if (isNaN(due)) { return; }
      var state = (now >= due || row.hasAttribute("data-missed")) ? "overdue"
        : (row.classList.contains("warn") || (!isNaN(warn) && now >= warn)) ? "warn" : "ok";
      row.classList.remove("ok", "warn", "overdue");
      row.classList.add(state);
      var label = row.querySelector("[data-state-label]");
      if (label) { label.textContent = WORDS[state]; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    paint();
    setInterval(paint, 1000);
  });
  document.addEventListener("htmx:afterSwap", paint);
})();
