/* Live blocks of the callcenter admin, without reloading the page.
 *
 * <div data-live-url="/admin/.../progress/" data-live-interval="5">…</div>
 * is refreshed every N seconds from a JSON endpoint answering {"html": "..."} (rendered and
 * escaped on the server, staff-only). Paused while the tab is hidden; a failed request marks
 * the block stale and is retried at the next tick. data-live-eager loads it at once.
 *
 * <form data-confirm="Question?"> asks before submitting.
 */
(function () {
  "use strict";

  function start(el) {
    var url = el.getAttribute("data-live-url");
    var seconds = parseInt(el.getAttribute("data-live-interval") || "30", 10);
    if (!url || !(seconds > 0)) {
      return;
    }
    var busy = false;

    function tick() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json", "X-Requested-With": "XMLHttpRequest" },
      })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (!response.ok || type.indexOf("application/json") === -1) {
            throw new Error("refresh failed: " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          el.innerHTML = data.html;
          el.classList.remove("cc-stale");
          el.setAttribute("data-live-refreshes", String(
            parseInt(el.getAttribute("data-live-refreshes") || "0", 10) + 1));
          el.dispatchEvent(new CustomEvent("cc:refreshed", { detail: data, bubbles: true }));
        })
        .catch(function () {
          el.classList.add("cc-stale");
        })
        .then(function () {
          busy = false;
        });
    }

    window.setInterval(tick, seconds * 1000);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        tick();
      }
    });
    if (el.getAttribute("data-live-eager") === "true") {
      tick();
    }
  }

  function confirmations() {
    var forms = document.querySelectorAll("form[data-confirm]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-url]"), start);
    confirmations();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
