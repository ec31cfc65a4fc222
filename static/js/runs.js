// Live progress for unfinished runs: poll each one's progress endpoint until it finishes.
// The server words every label (translated, and "stalled" in words, not only a colour).
(function () {
  function poll(row) {
    fetch(row.dataset.url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        row.querySelector("progress").value = p.percent;
        row.querySelector(".progress-text").textContent = p.progress_text;
        row.querySelector(".status").textContent = p.status_label;
        var hint = row.querySelector(".status-hint");
        hint.textContent = p.hint;
        hint.hidden = !p.hint;
        row.classList.toggle("stalled", p.stalled);
        if (!p.finished) { setTimeout(function () { poll(row); }, 1000); }
      })
      .catch(function () { setTimeout(function () { poll(row); }, 5000); });
  }
  document.querySelectorAll("tr[data-run][data-finished='0']").forEach(poll);
})();
