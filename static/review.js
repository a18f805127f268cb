// Keyboard shortcuts and focus for the review page: every action without the mouse.
// The page shows each key next to its action; this file only wires them (no inline script: CSP).
(function () {
  "use strict";

  function item() { return document.getElementById("item"); }
  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text") || target.isContentEditable);
  }
  function panel(name) { return document.querySelector('details[data-panel="' + name + '"]'); }
  function click(selector) {
    var element = document.querySelector(selector);
    if (element) { element.click(); return true; }
    return false;
  }
  function remember(name) {
    var field = document.getElementById("panel-field");
    if (field && field.value !== name) {
      field.value = name;
      field.dispatchEvent(new Event("change", { bubbles: true }));  // autosave which panel is open
    }
  }
  function openPanel(name) {
    ["edit", "reject"].forEach(function (other) {
      var details = panel(other);
      if (details) { details.open = other === name; }
    });
    remember(name);
    var target = name === "edit" ? document.getElementById("edit-output") : document.querySelector('#reject-panel input[type="checkbox"]');
    if (target) { target.focus(); }
  }
  function closePanels() {
    ["edit", "reject"].forEach(function (name) { var details = panel(name); if (details) { details.open = false; } });
    remember("");
    var section = item();
    if (section) { section.focus(); }
  }

  // When a pair's choice changes, the edit box follows the chosen response until the physician types in it.
  function followChoice(value) {
    var source = document.querySelector('textarea[data-response-for="' + value + '"]');
    var output = document.getElementById("edit-output");
    if (!source || !output || output.dataset.touched === "1") { return; }
    output.value = source.value;
  }

  // Autosave, debounced. The listener sits on the document, so keys typed the moment a new item
  // arrives are saved too; a save scheduled for one item is dropped if another item replaced it.
  var saveTimer = null;
  function scheduleSave(event, delay) {
    if (!event.target.closest || !event.target.closest("#decision-form")) { return; }
    var section = item();
    var assignment = section && section.dataset.assignment;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(function () {
      var current = item();
      var saver = document.getElementById("draft-saver");
      if (saver && window.htmx && current && current.dataset.assignment === assignment) {
        window.htmx.trigger(saver, "autosave");
      }
    }, delay);
  }
  document.addEventListener("input", function (event) {
    if (event.target.id === "edit-output") { event.target.dataset.touched = "1"; }
    scheduleSave(event, 600);
  });
  document.addEventListener("change", function (event) {
    if (event.target.name === "preference") { followChoice(event.target.value); }
    scheduleSave(event, 300);
  });
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.dataset || !details.dataset.panel) { return; }
    if (details.open) { remember(details.dataset.panel); }
    else if (document.getElementById("panel-field") && document.getElementById("panel-field").value === details.dataset.panel) { remember(""); }
  }, true);

  document.addEventListener("keydown", function (event) {
    var section = item();
    if (!section) { return; }
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var open = document.querySelector("details[data-panel][open]");
      if (open) {
        event.preventDefault();
        click('[data-submit-for="' + open.dataset.panel + '"]');
      }
      return;
    }
    if (event.key === "Escape") { event.preventDefault(); closePanels(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key.toLowerCase();
    var rejecting = panel("reject") && panel("reject").open;
    if (rejecting && /^[1-9]$/.test(key)) {
      var reason = document.querySelector('[data-reason-key="' + key + '"]');
      if (reason) { event.preventDefault(); reason.click(); reason.focus(); }
      return;
    }
    if (key === "e") { event.preventDefault(); openPanel("edit"); return; }
    if (key === "r") { event.preventDefault(); openPanel("reject"); return; }
    if (key === "x" && section.dataset.pair === "1") { event.preventDefault(); openPanel("reject"); return; }
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) { return; }
    event.preventDefault();
    if (target.tagName === "INPUT") {
      target.click();  // a pair's choice: checks the radio and fires change
      target.focus();
    } else {
      target.click();
    }
  });

  // After htmx puts a new item in, keys go to it: an error puts focus where the fix is needed.
  function focusItem() {
    var section = item();
    if (!section) { return; }
    var open = section.dataset.openPanel;
    if (section.dataset.error && open) {
      var field = open === "edit" ? document.getElementById("edit-output") : document.querySelector('#reject-panel input[type="checkbox"]');
      if (field) { field.focus(); return; }
    }
    section.focus();
  }
  document.addEventListener("htmx:afterSettle", function () {
    // A swapped-in item removed whatever had focus; an autosave leaves the reviewer's cursor alone.
    if (!document.activeElement || document.activeElement === document.body) { focusItem(); }
  });
  document.addEventListener("DOMContentLoaded", focusItem);
})();
