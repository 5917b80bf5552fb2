// The payment code's countdown. The page already says until when the code is valid, so
// without this script nothing is lost; with it, the seconds left count down beside that time.
// Counted from the seconds the server gave (not the phone's clock, which may be off).
"use strict";
(function () {
  var counter = document.getElementById("countdown");
  if (!counter) { return; }
  var deadline = Date.now() + Number(counter.dataset.secondsLeft) * 1000;
  function show() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    if (left === 0) {
      counter.textContent = counter.dataset.expired;
      document.getElementById("payment-code").classList.add("expired");
      return;
    }
    var minutes = Math.floor(left / 60);
    var seconds = String(left % 60).padStart(2, "0");
    counter.textContent = "· " + counter.dataset.left.replace("%(time)s", minutes + ":" + seconds);
    window.setTimeout(show, 1000);
  }
  show();
})();
