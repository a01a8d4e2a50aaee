// Arrears agent workspace: no write the agent submitted is lost while the server or its database
// is unreachable. A write ([data-agent-write]: note, promise, callback, disposition) that fails on
// the network, or is answered 503 with the X-Arrears-Retry marker (nothing was saved), is kept
// with its exact body and idempotency key and sent again with backoff until it is answered. The
// server saves a key once, so a retry of a write whose answer was lost gets the saved state.
//
// Pending writes live here, not in the page: a later swap of the workspace (another write being
// saved, the next screen) does not drop them. They are sent one at a time in the order the agent
// submitted them (a disposition may need the promise before it), and a write submitted while
// others are pending queues behind them. Leaving the page while one is pending asks first.
(function () {
  "use strict";

  var RETRY_HEADER = "X-Arrears-Retry";
  var FIRST_DELAY_MS = 1000;
  var MAX_DELAY_MS = 10000;
  var queue = [];
  var requests = new WeakMap(); // element → the write it is sending now
  var delay = FIRST_DELAY_MS;
  var timer = null;
  var sending = false;
  var banner = null;

  function writerOf(element) {
    return element && element.closest ? element.closest("[data-agent-write]") : null;
  }

  function formOf(writer) {
    return writer.tagName === "FORM" ? writer : writer.closest("form");
  }

  // Everything needed to send the write again as htmx sent it, and to swap its answer.
  function snapshot(detail, writer) {
    var headers = { "Content-Type": "application/x-www-form-urlencoded" };
    Object.keys(detail.headers).forEach(function (name) {
      headers[name] = detail.headers[name];
    });
    var swapper = writer.closest("[hx-swap]");
    return {
      path: detail.path,
      body: new URLSearchParams(detail.formData).toString(),
      headers: headers,
      target: detail.target && detail.target.id ? "#" + detail.target.id : "#call-workspace",
      swap: swapper ? swapper.getAttribute("hx-swap") : "innerHTML",
      form: formOf(writer),
      status: null,
    };
  }

  function retryable(status, marker) {
    return status === 0 || (status === 503 && marker === "1");
  }

  // The banner stays in the page for as long as the page does: a live region must exist before
  // its text changes for screen readers to announce the change.
  function ensureBanner() {
    if (banner && banner.isConnected) {
      return banner;
    }
    banner = document.createElement("div");
    banner.className = "notice";
    banner.setAttribute("data-pending-writes", "");
    banner.setAttribute("role", "status");
    banner.setAttribute("aria-live", "polite");
    banner.hidden = true;
    var main = document.querySelector("main") || document.body;
    main.insertBefore(banner, main.firstChild);
    return banner;
  }

  function showBanner(text) {
    var element = ensureBanner();
    element.textContent = text;
    element.hidden = !text;
  }

  function describe() {
    if (!queue.length) {
      showBanner("");
      return;
    }
    var count = queue.length === 1 ? "1 change" : queue.length + " changes";
    var when = timer ? " in " + Math.round(delay / 1000) + " s" : "";
    showBanner("Pending — saving " + count + "… (retrying" + when + "). Keep this page open.");
  }

  // The form keeps its values, frozen, with the pending state next to it (an inert form's own
  // content is hidden from assistive technology, so the status sits just before it).
  function markPending(write) {
    var form = write.form;
    if (!form || !form.isConnected || write.status) {
      return;
    }
    form.inert = true;
    form.setAttribute("aria-busy", "true");
    form.setAttribute("data-pending", "");
    write.status = document.createElement("p");
    write.status.className = "warn";
    write.status.setAttribute("data-pending-write", "");
    write.status.setAttribute("role", "status");
    write.status.setAttribute("aria-live", "polite");
    write.status.textContent = "Pending — saving… (retrying)";
    form.parentNode.insertBefore(write.status, form);
  }

  function clearPending(write) {
    if (write.status) {
      write.status.remove();
    }
    if (write.form) {
      write.form.inert = false;
      write.form.removeAttribute("aria-busy");
      write.form.removeAttribute("data-pending");
    }
  }

  function enqueue(write) {
    queue.push(write);
    markPending(write);
    if (!sending && !timer) {
      schedule();
    }
    describe();
  }

  function schedule() {
    timer = window.setTimeout(function () {
      timer = null;
      sendFirst();
    }, delay);
    describe();
  }

  function backOff() {
    sending = false;
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    schedule();
  }

  // The answer replaces what the original request would have replaced; a refusal goes where the
  // server points it, as htmx does with HX-Retarget.
  function apply(write, response, html) {
    var target = document.querySelector(response.headers.get("HX-Retarget") || write.target);
    var swapStyle = response.headers.get("HX-Reswap") || write.swap;
    if ((response.ok || response.status === 422) && target) {
      window.htmx.swap(target, html, { swapStyle: swapStyle, swapDelay: 0, settleDelay: 20 });
      return "";
    }
    if (response.ok || response.status === 422) {
      return "A pending change was answered after its form was closed: check the call's history.";
    }
    return "A pending change could not be saved (the server answered " + response.status + "). Reload the page.";
  }

  function sendFirst() {
    var write = queue[0];
    if (!write || sending) {
      return;
    }
    sending = true;
    describe();
    window
      .fetch(write.path, { method: "POST", body: write.body, headers: write.headers, credentials: "same-origin" })
      .then(
        function (response) {
          if (retryable(response.status, response.headers.get(RETRY_HEADER))) {
            backOff();
            return;
          }
          return response.text().then(function (html) {
            queue.shift();
            clearPending(write);
            sending = false;
            delay = FIRST_DELAY_MS;
            var problem = apply(write, response, html);
            describe();
            if (problem) {
              showBanner(problem);
            }
            sendFirst();
          });
        },
        backOff
      );
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var writer = writerOf(event.detail.elt);
    if (!writer) {
      return;
    }
    var write = snapshot(event.detail, writer);
    if (queue.length) {
      event.preventDefault(); // keep the agent's order: behind the pending ones
      enqueue(write);
      return;
    }
    requests.set(event.detail.elt, write);
  });

  function failed(event) {
    var write = requests.get(event.detail.elt);
    var xhr = event.detail.xhr;
    if (!write || !xhr || !retryable(xhr.status, xhr.getResponseHeader(RETRY_HEADER))) {
      return;
    }
    requests.delete(event.detail.elt);
    enqueue(write);
  }

  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);

  // Back online: try now rather than at the end of the current wait.
  window.addEventListener("online", function () {
    if (timer) {
      window.clearTimeout(timer);
      timer = null;
      delay = FIRST_DELAY_MS;
      sendFirst();
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (queue.length) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  document.addEventListener("DOMContentLoaded", ensureBanner);
})();
