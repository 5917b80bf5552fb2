// The sale's line: ask again for the place when the server said to (data-poll-after, in
// seconds), as the "Check my place" button would. Asking is what keeps the place; without
// this script the button does the same by hand.
"use strict";
(function () {
  var form = document.getElementById("queue-form");
  if (!form || !form.dataset.pollAfter) {
    return;
  }
  var seconds = parseInt(form.dataset.pollAfter, 10);
  if (!(seconds > 0)) {
    return;
  }
  window.setTimeout(function () {
    form.submit();
  }, seconds * 1000);
})();
