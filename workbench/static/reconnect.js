// Arrears: how a tab's WebSocket comes back after its web worker went away (see workbench/ws.py).
// Loaded as a file after htmx and its WebSocket extension (the Content-Security-Policy forbids
// inline script).
(function () {
  "use strict";

  if (!window.htmx) {
    return;
  }

  // The extension retries after a random delay that doubles up to 64 s. An agent without a screen
  // earns nothing and may miss a call, so cap it at a few seconds; the jitter still spreads the
  // reconnects of every tab of a restarted worker over the window.
  var FIRST_DELAY_MS = 500;
  var MAX_DELAY_MS = 4000;
  window.htmx.config.wsReconnectDelay = function (retries) {
    var ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * Math.pow(2, retries));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  };

  // Tell the server which call the workspace shows (none while it shows no call or is loading), so
  // that on (re)connect it can replace a screen that missed a screen pop or a hang-up and leave a
  // current one, half-typed notes and all, alone.
  function withShownCall(url) {
    var workspace = document.getElementById("call-workspace");
    if (!workspace) {
      return url;
    }
    var shown = workspace.getAttribute("data-call") || "";
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "showing=" + encodeURIComponent(shown);
  }

  window.htmx.createWebSocket = function (url) {
    var socket = new WebSocket(withShownCall(url), []);
    socket.binaryType = window.htmx.config.wsBinaryType;
    return socket;
  };
})();
