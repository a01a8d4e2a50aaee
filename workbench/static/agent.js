// Arrears agent workspace: disposition hotkeys, the fields each code needs, the wrap-up limit.
// Loaded as a file (the Content-Security-Policy forbids inline script).
(function () {
  "use strict";

  // htmx copies the "style" attribute while settling swapped elements; under our CSP that is a
  // refused inline style, and our markup never carries one.
  if (window.htmx) {
    window.htmx.config.attributesToSettle = ["class", "width", "height"];
  }

  function dock() {
    return document.getElementById("disposition-dock");
  }

  // Show only the extra fields the chosen code requires; the server checks them again.
  function showRequired() {
    var container = dock();
    if (!container) {
      return;
    }
    var chosen = container.querySelector("input[name='code']:checked");
    var required = chosen ? (chosen.getAttribute("data-required") || "").split(" ") : [];
    container.querySelectorAll("[data-field]").forEach(function (element) {
      element.hidden = required.indexOf(element.getAttribute("data-field")) < 0;
    });
    var hint = container.querySelector("[data-note-hint]");
    if (hint) {
      hint.textContent = required.indexOf("note") >= 0 ? "(required)" : "(optional)";
    }
  }

  // Alt + the code's key picks a disposition (Alt+1 … Alt+9, Alt+letters).
  function keyOf(event) {
    if (/^Digit\d$/.test(event.code)) {
      return event.code.slice(5);
    }
    if (/^Key[A-Z]$/.test(event.code)) {
      return event.code.slice(3).toLowerCase();
    }
    return null;
  }

  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var key = keyOf(event);
    var container = dock();
    if (!key || !container) {
      return;
    }
    var radio = container.querySelector("input[data-hotkey='" + key + "']");
    if (radio) {
      event.preventDefault();
      radio.checked = true;
      radio.focus();
      showRequired();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "code") {
      showRequired();
    }
  });

  // A refused form (422) carries the explanation: show it where the server points.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The wrap-up timer turns red once past its limit.
  function checkLimits() {
    document.querySelectorAll("[data-limit][data-since]").forEach(function (element) {
      var since = Date.parse(element.getAttribute("data-since"));
      var limit = parseInt(element.getAttribute("data-limit"), 10);
      element.classList.toggle("over-limit", !isNaN(since) && (Date.now() - since) / 1000 > limit);
    });
  }

  document.addEventListener("htmx:afterSwap", showRequired);
  document.addEventListener("htmx:oobAfterSwap", showRequired);
  document.addEventListener("DOMContentLoaded", showRequired);
  setInterval(checkLimits, 1000);
})();
