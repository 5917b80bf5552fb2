// The counter's small helpers. Without this script nothing is lost: the payments page shows
// today's payments when it is loaded, and the poster prints from the browser's own menu.
//
// #payments-live: ask the server for today's payments again every few seconds
// (data-source, data-every-ms) and put the fresh list in place, so a payment shows up while
// the merchant watches. The list is the server's HTML (rendered and escaped by the same
// template as the page), so the script knows nothing of payments. A log-in that expired
// shows as a redirect: the page is reloaded, and the server sends it to log in.
// #print-poster: a print button, shown only when a script can press it.
"use strict";
(function () {
  var live = document.getElementById("payments-live");
  if (live && live.dataset.source) {
    var every = Number(live.dataset.everyMs) || 2000;
    var shown = live.innerHTML.trim();
    var announcer = document.getElementById("payments-announcer");
    // Put the fresh list in place; a keyboard user's focus stays on the same link, and a
    // screen reader hears the new summary line rather than the whole table again.
    var replace = function (html) {
      var focused = live.contains(document.activeElement) ? document.activeElement.id : "";
      live.innerHTML = html;
      if (focused && document.getElementById(focused)) {
        document.getElementById(focused).focus();
      }
      var summary = document.getElementById("payments-summary");
      if (announcer && summary) { announcer.textContent = summary.textContent; }
    };
    var refresh = function () {
      if (document.hidden) { window.setTimeout(refresh, every); return; }
      window.fetch(live.dataset.source, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.redirected) { window.location.reload(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && html.trim() !== shown) {
            replace(html);
            shown = html.trim();
          }
        })
        .catch(function () { /* offline for a moment: try again on the next turn */ })
        .then(function () { window.setTimeout(refresh, every); });
    };
    window.setTimeout(refresh, every);
  }
  var print = document.getElementById("print-poster");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
