// Keyboard shortcuts for the adjudication page, the review page's keys: 1-9 choose a text, A accepts
// it, E opens "write the final text", R opens reject, Ctrl+Enter submits the open panel, Esc closes it.
// No inline script (CSP): the page marks each action with data-key / data-panel.
(function () {
  "use strict";

  function section() { return document.getElementById("adjudication"); }
  // A key pressed in a form control belongs to the control (typing a reason, choosing a radio).
  function inFormControl(target) {
    if (!target || !target.tagName) { return false; }
    return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].indexOf(target.tagName) >= 0;
  }
  function panel(name) { return document.querySelector('details[data-panel="' + name + '"]'); }
  function openPanel(name) {
    ["edit", "reject"].forEach(function (other) {
      var details = panel(other);
      if (details) { details.open = other === name; }
    });
    var target = document.getElementById(name === "edit" ? "adj-output" : "adj-comment");
    if (target) { target.focus(); }
  }
  function closePanels() {
    ["edit", "reject"].forEach(function (name) { var details = panel(name); if (details) { details.open = false; } });
    var here = section();
    if (here) { here.focus(); }
  }
  // A pair's text carries the response it prefers: choosing the text chooses that response too.
  function followPreference(radio) {
    var preference = radio.dataset.preference;
    var match = preference && document.querySelector('input[name="preference"][value="' + preference + '"]');
    if (match) { match.checked = true; }
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "revision") { followPreference(event.target); }
  });

  document.addEventListener("keydown", function (event) {
    var here = section();
    if (!here || event.isComposing || event.keyCode === 229) { return; }
    var open = document.querySelector("details[data-panel][open]");
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var submit = open && document.querySelector('[data-submit-for="' + open.dataset.panel + '"]');
      if (submit && !event.repeat) { event.preventDefault(); submit.click(); }
      return;
    }
    if (event.key === "Escape") { event.preventDefault(); closePanels(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) { return; }
    if (open || inFormControl(event.target) || event.repeat) { return; }
    var key = event.key.toLowerCase();
    if (key === "e") { event.preventDefault(); openPanel("edit"); return; }
    if (key === "r") { event.preventDefault(); openPanel("reject"); return; }
    var target = here.querySelector('[data-key="' + key + '"]');
    if (!target) { return; }
    event.preventDefault();
    target.click();  // a text's radio is checked (focus stays put, so the next key is a shortcut too)
    if (target.name === "revision") { followPreference(target); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var here = section();
    if (!here) { return; }
    var checked = here.querySelector('input[name="revision"]:checked');
    if (checked) { followPreference(checked); }
    if (!document.querySelector(".error")) { here.focus({ preventScroll: true }); return; }
    // Refused: focus goes where the fix is needed (the reason, the text, or the choice of text).
    var open = document.querySelector("details[data-panel][open]");
    var field = open ? document.getElementById(open.dataset.panel === "edit" ? "adj-output" : "adj-comment")
                     : here.querySelector('input[name="revision"]');
    (field || here).focus();
  });
})();
