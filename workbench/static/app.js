// Arrears workbench: the little the browser does beyond htmx. No inline script exists anywhere,
// so the Content-Security-Policy can forbid it.
(function () {
  "use strict";

  function elapsed(since) {
    var seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return (hours ? hours + ":" + two(minutes) : minutes) + ":" + two(rest);
  }

  // Timers count up from the server's timestamp, so a reconnect or a reload never resets them.
  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (element) {
      var since = Date.parse(element.getAttribute("data-since"));
      if (!isNaN(since)) {
        element.textContent = elapsed(since);
      }
    });
  }

  function showDisconnected(disconnected) {
    var banner = document.getElementById("connection-banner");
    if (banner) {
      banner.hidden = !disconnected;
    }
  }

  document.addEventListener("htmx:wsOpen", function () { showDisconnected(false); });
  document.addEventListener("htmx:wsClose", function () { showDisconnected(true); });
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:oobAfterSwap", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();
