// Keyboard shortcuts for every page: `/` focuses the page's search field ([data-search]), `?` opens
// the shortcut help (<dialog id="kbd-help"> in base.html). Pages add their own keys:
//   window.RiskOpsKeys.register("j", "Next row", function (event) { ... });
// A registered key also appears in the help dialog. No shortcut fires while the user types in a
// field, holds Ctrl/Alt/Meta (browser shortcuts stay the browser's), or has a dialog open.
(function () {
  var handlers = {};

  function isTyping(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // Enter on a link, button or disclosure already does something: leave it to the browser.
  function activatesItself(target) {
    return !!(target && target.closest && target.closest("a[href], button, summary, [role=button], [role=link]"));
  }

  function helpDialog() { return document.getElementById("kbd-help"); }

  function addHelpRow(key, description) {
    var dialog = helpDialog();
    var rows = dialog && dialog.querySelector("[data-kbd-rows]");
    if (!rows) { return; }
    var row = document.createElement("tr");
    var keyCell = document.createElement("td");
    var kbd = document.createElement("kbd");
    kbd.textContent = key === "Enter" ? "Enter" : key;
    keyCell.appendChild(kbd);
    var textCell = document.createElement("td");
    textCell.textContent = description;
    row.appendChild(keyCell);
    row.appendChild(textCell);
    rows.appendChild(row);
  }

  function register(key, description, handler) {
    if (handlers[key]) { throw new Error("RiskOpsKeys: key already registered: " + key); }
    handlers[key] = handler;
    addHelpRow(key, description);
  }

  function focusSearch(event) {
    var field = document.querySelector("[data-search]");
    if (!field) { return; }
    event.preventDefault();
    field.focus();
    if (field.select) { field.select(); }
  }

  function showHelp(event) {
    var dialog = helpDialog();
    if (!dialog || dialog.open) { return; }
    event.preventDefault();
    dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) { return; }
    if (isTyping(event.target)) { return; }
    var openDialog = document.querySelector("dialog[open]");
    if (openDialog) { return; }  // the dialog's own keys (Esc, Tab) only
    if (event.key === "/") { focusSearch(event); return; }
    if (event.key === "?") { showHelp(event); return; }
    if (event.key === "Enter" && activatesItself(event.target)) { return; }
    var handler = handlers[event.key];
    if (handler) { handler(event); }
  });

  window.RiskOpsKeys = { register: register };
})();
