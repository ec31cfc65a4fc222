// The queue's keys: j/k move the selection, Enter opens the selected account, c claims it, n claims
// and opens the most urgent unassigned account, in the queue's default order (POSTs the queue-next
// form). Registered with window.RiskOpsKeys (static/js/keyboard.js: help dialog, never while
// typing); works on its own if that is missing.
// Key descriptions come translated from the page's [data-queue-keys] data-key-* attributes.
// `c` reloads the queue (the claim POSTs and comes back); the selected row is remembered for that
// one reload (sessionStorage) and selected again: the same account, or the row in its place.
(function () {
  var KEEP = "riskops.queue.selected";
  var table = document.querySelector("[data-queue]");
  var nextForm = document.querySelector("[data-next-form]");
  var strings = (document.querySelector("[data-queue-keys]") || document.body).dataset;

  function rows() {
    return table ? Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-row]")) : [];
  }

  function current() {
    return table ? table.querySelector("tbody tr.is-current") : null;
  }

  function select(row) {
    var previous = current();
    if (previous) {
      previous.classList.remove("is-current");
      previous.removeAttribute("aria-current");
    }
    if (!row) { return; }
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    // Focus the row's link: visible focus, announced by screen readers, Enter follows it.
    var link = row.querySelector("[data-open]");
    if (link) { link.focus({ preventScroll: true }); }
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    return function (event) {
      var all = rows();
      if (!all.length) { return; }
      event.preventDefault();
      var index = all.indexOf(current());
      var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(index + step, 0), all.length - 1);
      select(all[next]);
    };
  }

  function open(event) {
    // A focused link or button already does its own thing on Enter.
    var tag = event.target && event.target.tagName ? event.target.tagName.toLowerCase() : "";
    if (tag === "a" || tag === "button" || tag === "summary") { return; }
    var row = current();
    if (row && row.dataset.href) {
      event.preventDefault();
      window.location.assign(row.dataset.href);
    }
  }

  function submit(form) {
    if (!form) { return; }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function remember(row) {
    try {
      window.sessionStorage.setItem(KEEP, JSON.stringify({ customer: row.dataset.customer, index: rows().indexOf(row) }));
    } catch (e) { /* storage disabled: the selection is simply not kept */ }
  }

  function restore() {
    var kept = null;
    try {
      kept = JSON.parse(window.sessionStorage.getItem(KEEP) || "null");
      window.sessionStorage.removeItem(KEEP);
    } catch (e) { kept = null; }
    if (!kept) { return; }
    var all = rows();
    if (!all.length) { return; }
    var same = all.filter(function (r) { return r.dataset.customer === kept.customer; })[0];
    select(same || all[Math.min(Math.max(kept.index || 0, 0), all.length - 1)]);
  }

  function claim(event) {
    var row = current();
    var form = row && row.querySelector("form[data-claim-form]");
    if (form) {
      event.preventDefault();
      remember(row);
      submit(form);
    }
  }

  function nextCase(event) {
    if (nextForm) {
      event.preventDefault();
      submit(nextForm);
    }
  }

  var keys = [
    ["j", strings.keyJ || "Next row", move(1)],
    ["k", strings.keyK || "Previous row", move(-1)],
    ["Enter", strings.keyEnter || "Open the selected account", open],
    ["c", strings.keyC || "Claim the selected account", claim],
    ["n", strings.keyN || "Claim the next unassigned account: highest severity, then nearest SLA deadline, then oldest; and open it", nextCase]
  ];

  restore();

  if (window.RiskOpsKeys && window.RiskOpsKeys.register) {
    keys.forEach(function (k) { window.RiskOpsKeys.register(k[0], k[1], k[2]); });
    return;
  }

  // Standalone: the same guards keyboard.js applies.
  var byKey = {};
  keys.forEach(function (k) { byKey[k[0]] = k[2]; });
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) { return; }
    var t = event.target;
    var tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var handler = byKey[event.key];
    if (handler) { handler(event); }
  });
})();

// Select all: the header checkbox ticks every account on the page; it shows "mixed" when some are.
(function () {
  var all = document.querySelector("[data-select-all]");
  if (!all) { return; }
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("[data-select-row]")); };
  all.addEventListener("change", function () {
    rows().forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("[data-select-row]")) { return; }
    var ticked = rows().filter(function (box) { return box.checked; }).length;
    all.checked = ticked > 0 && ticked === rows().length;
    all.indeterminate = ticked > 0 && ticked < rows().length;
  });
})();
