// The console's disbursement progress: poll the page's progress route once a second and move
// the <progress> bar; when the run has finished, reload so the page shows the final figures.
// Without this script the page still shows the figures as of its last load.
(function () {
  "use strict";
  var panel = document.getElementById("progress-panel");
  if (!panel) { return; }
  var url = panel.getAttribute("data-progress-url");
  var bar = document.getElementById("disbursement-progress");
  var done = document.getElementById("people-done");
  var total = document.getElementById("people-total");
  var INTERVAL_MS = 1000;

  function show(figures) {
    bar.max = Math.max(figures.people_total, 1);
    bar.value = figures.people_done;
    bar.textContent = figures.people_done + " / " + figures.people_total;
    done.textContent = String(figures.people_done);
    total.textContent = String(figures.people_total);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("progress answered " + answer.status); }
        return answer.json();
      })
      .then(function (figures) {
        show(figures);
        if (figures.status === "disbursed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, INTERVAL_MS);
        }
      })
      .catch(function () { window.setTimeout(poll, INTERVAL_MS * 5); });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
