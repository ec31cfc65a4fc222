// The risk profile's keys (templates/decisions/customer.html, the "Work this case" panel):
//   c  claims the account            d  dismiss: focuses the current alert's dismiss note
//   r  confirm (real risk): focuses the current alert's confirm note
//   j/k move between open alerts      n  done, next case (POSTs the next-case form)
//   q  back to the queue
// In a triage note, Ctrl+Enter (or Cmd+Enter) sends its form. Registered with window.RiskOpsKeys
// (static/js/keyboard.js: help dialog, never while typing); a key whose control is not on the
// page (compliance reads without acting) is not registered, so the help lists only what works.
// Key descriptions come translated from the page's [data-profile-keys] data-key-* attributes.
// Also: a live character count under every [data-counted] textarea (its [data-counter-for] line).
(function () {
  var strings = (document.querySelector("[data-profile-keys]") || document.body).dataset;

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-triage-card]"));
  }

  function current() {
    var active = document.activeElement;
    var holder = active && active.closest ? active.closest("[data-triage-card]") : null;
    return holder || document.querySelector("[data-triage-card].is-current") || cards()[0] || null;
  }

  function select(card) {
    cards().forEach(function (c) { c.classList.remove("is-current"); });
    if (!card) { return; }
    card.classList.add("is-current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    return function (event) {
      var all = cards();
      if (!all.length) { return; }
      event.preventDefault();
      var index = all.indexOf(current());
      select(all[Math.min(Math.max(index + step, 0), all.length - 1)]);
    };
  }

  function submit(form) {
    if (!form) { return; }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function submitter(selector) {
    return function (event) {
      var form = document.querySelector(selector);
      if (form) {
        event.preventDefault();
        submit(form);
      }
    };
  }

  function focusNote(selector) {
    return function (event) {
      var card = current();
      var note = card && card.querySelector(selector);
      if (!note) { return; }
      event.preventDefault();  // the key itself is not typed into the note
      select(card);
      note.focus();
    };
  }

  function backToQueue(event) {
    var link = document.querySelector("[data-back-to-queue]");
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  }

  var keys = [];
  if (document.querySelector("form[data-claim-form]")) {
    keys.push(["c", strings.keyC || "Claim this account", submitter("form[data-claim-form]")]);
  }
  if (document.querySelector("[data-dismiss-note]")) {
    keys.push(["d", strings.keyD || "Dismiss the current alert", focusNote("[data-dismiss-note]")]);
    keys.push(["r", strings.keyR || "Confirm the current alert as a real risk", focusNote("[data-confirm-note]")]);
  }
  if (cards().length > 1) {
    keys.push(["j", strings.keyJ || "Next open alert", move(1)]);
    keys.push(["k", strings.keyK || "Previous open alert", move(-1)]);
  }
  if (document.querySelector("form[data-next-form]")) {
    keys.push(["n", strings.keyN || "Done, next case", submitter("form[data-next-form]")]);
  }
  if (document.querySelector("[data-back-to-queue]")) {
    keys.push(["q", strings.keyQ || "Back to the queue", backToQueue]);
  }
  if (window.RiskOpsKeys && window.RiskOpsKeys.register) {
    keys.forEach(function (k) { window.RiskOpsKeys.register(k[0], k[1], k[2]); });
  }

  // Ctrl+Enter in a triage note sends its form with its first button (dismiss, or confirm).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) { return; }
    var note = event.target;
    var form = note && note.closest ? note.closest("form[data-triage-form]") : null;
    if (!form) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (form.requestSubmit) { form.requestSubmit(button || undefined); } else { form.submit(); }
  });
})();

// Character counters: "123 of 5,000 characters" under a bounded note, red past the bound (the
// textarea's maxlength stops typing there; a paste into an older browser may not be cut).
(function () {
  function update(field) {
    var line = document.querySelector("[data-counter-for='" + field.id + "']");
    if (!line) { return; }
    var max = parseInt(field.getAttribute("maxlength"), 10) || 0;
    line.textContent = (line.dataset.counterTemplate || "__N__").replace("__N__", field.value.length.toLocaleString());
    line.classList.toggle("is-over", max > 0 && field.value.length > max);
  }
  function all() {
    Array.prototype.slice.call(document.querySelectorAll("textarea[data-counted]")).forEach(update);
  }
  document.addEventListener("input", function (event) {
    if (event.target && event.target.matches && event.target.matches("textarea[data-counted]")) { update(event.target); }
  });
  // htmx swaps a triage block in place: count its (possibly kept) text again.
  document.addEventListener("htmx:afterSwap", all);
  all();
})();
