// Keyboard shortcuts and focus for the review page: every action without the mouse.
// The page shows each key next to its action; this file only wires them (no inline script: CSP).
(function () {
  "use strict";

  function item() { return document.getElementById("item"); }
  // A key pressed in a form control belongs to the control (typing, ticking, choosing), never to a
  // shortcut: the reviewer may believe they are typing a comment when focus is on a checkbox.
  function inFormControl(target) {
    if (!target || !target.tagName) { return false; }
    return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].indexOf(target.tagName) >= 0;
  }
  function typesText(target) {
    return inFormControl(target) && !(target.tagName === "INPUT" && (target.type === "checkbox" || target.type === "radio"));
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
  var PANELS = ["edit", "reject", "skip", "discuss"];
  var PANEL_FOCUS = {
    edit: "#edit-output",
    reject: '#reject-panel input[type="checkbox"]',
    skip: '[data-skip-key="1"]',
    discuss: "#discuss-question"
  };
  function openPanel(name) {
    PANELS.forEach(function (other) {
      var details = panel(other);
      if (details) { details.open = other === name; }
    });
    remember(name);
    // The whole panel in view where it fits (the editor with its diff beside it), then its field.
    var opened = panel(name);
    if (opened) { opened.scrollIntoView({ block: "nearest" }); }
    var target = document.querySelector(PANEL_FOCUS[name]);
    if (target) { target.focus(); }
  }
  function closePanels() {
    PANELS.forEach(function (name) { var details = panel(name); if (details) { details.open = false; } });
    remember("");
    var section = item();
    if (section) { section.focus(); }
  }

  // The guidelines open beside the item (G, or the link): the page is not left, so nothing typed is
  // lost. Focus goes to the panel (its text scrolls with the arrow keys) and back where it was on closing.
  var focusBeforeGuidelines = null;
  function guidelinesPanel() { return document.getElementById("guidelines-panel"); }
  function guidelinesOpen() { var aside = guidelinesPanel(); return !!aside && !aside.hidden; }
  function showGuidelines(open) {
    var aside = guidelinesPanel();
    if (!aside) { return false; }
    if (open && aside.hidden) { focusBeforeGuidelines = document.activeElement; }
    aside.hidden = !open;
    syncGuidelinesToggle();
    if (open) {
      aside.focus();
    } else {
      var back = focusBeforeGuidelines;
      focusBeforeGuidelines = null;
      if (back && back !== document.body && document.contains(back)) { back.focus(); }
      else if (item()) { item().focus(); }
    }
    return true;
  }
  function syncGuidelinesToggle() {
    var toggle = document.getElementById("guidelines-toggle");
    if (toggle) { toggle.setAttribute("aria-expanded", guidelinesOpen() ? "true" : "false"); }
  }
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : event.target.parentElement;
    if (target && target.closest("[data-guidelines-close]")) { showGuidelines(false); return; }
    var toggle = target && target.closest("#guidelines-toggle");
    // A click meant for a new tab or window opens the guidelines' own page there.
    if (!toggle || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    if (showGuidelines(!guidelinesOpen())) { event.preventDefault(); }
  });

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
  // Work kept in this browser. Every change to the decision form is also kept in localStorage under
  // its assignment, at once (the server's autosave waits for a pause in typing): a session that
  // expires sends the page to the login before the last keys reach the server, and a dropped
  // connection sends nothing. Back on the same item, the kept work is put into the form again and
  // autosaved; the server's acknowledgement of the decision clears it. The key is the assignment and
  // when it was (last) put in front of the reviewer: an undo shows it afresh, so work kept before a
  // decision that was then undone (or sent by a plain form post htmx never saw) is not put back.
  // A ward computer is shared: the work is encrypted (AES-GCM) with a key only this reviewer's pages
  // get, filed under an opaque per-user scope (review/kept_work.py); other users' pages drop it and
  // logging out clears it (kept-work.js). Where the browser has no Web Crypto (plain HTTP to another
  // machine) nothing is kept here: the server's autosave still runs.
  var KEPT = "review-work:";
  var KEPT_FOR_MS = 7 * 24 * 3600 * 1000;
  var KEPT_FIELDS = ["instruction", "input", "output", "comment", "note", "question", "based_on", "panel"];
  var restoredFor = null;
  var vault = null;
  var writing = Promise.resolve();  // writes and removals, one after another in the order asked
  var closed = false;  // logging out: nothing more is written

  function openVault() {
    if (vault) { return vault; }
    var holder = document.getElementById("kept-work");
    var subtle = window.crypto && window.crypto.subtle;
    if (!holder || !holder.dataset.scope || !holder.dataset.key || !subtle) { vault = Promise.resolve(null); return vault; }
    vault = subtle.importKey("raw", fromBase64(holder.dataset.key), "AES-GCM", false, ["encrypt", "decrypt"]).then(
      function (key) { return { prefix: KEPT + holder.dataset.scope + ":", key: key }; },
      function () { return null; }
    );
    return vault;
  }
  function toBase64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text);
  }
  function fromBase64(text) { return Uint8Array.from(atob(text), function (c) { return c.charCodeAt(0); }); }
  // The storage key is the cipher's associated data: an entry copied under another key does not open.
  function seal(safe, name, work) {
    var iv = window.crypto.getRandomValues(new Uint8Array(12));
    var plain = new TextEncoder().encode(JSON.stringify(work));
    return window.crypto.subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: new TextEncoder().encode(name) }, safe.key, plain).then(
      function (sealed) { return JSON.stringify({ saved: work.saved, iv: toBase64(iv), data: toBase64(new Uint8Array(sealed)) }); }
    );
  }
  function unseal(safe, name, stored) {
    var box = JSON.parse(stored);
    return window.crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(box.iv), additionalData: new TextEncoder().encode(name) }, safe.key, fromBase64(box.data)).then(
      function (plain) { return JSON.parse(new TextDecoder().decode(plain)); }
    );
  }
  function inTurn(step) {
    writing = writing.then(function () { return openVault().then(function (safe) { if (safe && !closed) { return step(safe); } }); })
      .catch(function () { /* storage full or off: the server's autosave still runs */ });
    return writing;
  }
  function removeKept(prefix) {
    for (var i = localStorage.length - 1; i >= 0; i--) {
      var key = localStorage.key(i);
      if (key && key.indexOf(prefix) === 0) { localStorage.removeItem(key); }
    }
  }

  function decisionForm() { return document.getElementById("decision-form"); }
  function keepWork(event) {
    var form = decisionForm();
    var section = item();
    if (!form || !section || !section.dataset.workKey || !form.contains(event.target)) { return; }
    var data = new FormData(form);
    var work = { saved: Date.now(), reasons: data.getAll("reasons"), preference: data.get("preference") || "" };
    KEPT_FIELDS.forEach(function (name) { work[name] = data.get(name) || ""; });
    var output = document.getElementById("edit-output");
    work.touched = !!(output && output.dataset.touched === "1");
    var workKey = section.dataset.workKey;
    inTurn(function (safe) {
      var name = safe.prefix + workKey;
      return seal(safe, name, work).then(function (text) { if (!closed) { localStorage.setItem(name, text); } });
    });
  }
  function forget(assignment) {
    inTurn(function (safe) { removeKept(safe.prefix + assignment + ":"); });
  }
  function forgetOld() {
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var key = localStorage.key(i);
        if (key && key.indexOf(KEPT) === 0) {
          var box = JSON.parse(localStorage.getItem(key) || "{}");
          if (!box.saved || !box.data || Date.now() - box.saved > KEPT_FOR_MS) { localStorage.removeItem(key); }
        }
      }
    } catch (e) { /* unreadable storage: nothing to clean */ }
  }
  function restoreWork() {
    var section = item();
    if (!decisionForm() || !section || !section.dataset.workKey || restoredFor === section.dataset.workKey) { return; }
    var workKey = restoredFor = section.dataset.workKey;
    openVault().then(function (safe) {
      var name = safe && safe.prefix + workKey;
      var stored = safe && localStorage.getItem(name);
      return stored ? unseal(safe, name, stored) : null;
    }).then(function (work) {
      var current = item();
      if (work && current && current.dataset.workKey === workKey) { putBack(work); }
    }).catch(function () { /* not this user's, or damaged: nothing to put back */ });
  }
  document.addEventListener("submit", function (event) {
    if (event.target && event.target.matches && event.target.matches("form.logout")) { closed = true; }
  }, true);
  // A session that expired sends the page to the login (HX-Redirect): first let the last keys be kept.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var target = xhr && xhr.getResponseHeader("HX-Redirect");
    if (!target) { return; }
    event.preventDefault();
    writing.then(function () { window.location.href = target; });
  });
  function putBack(work) {
    var form = decisionForm();
    var changed = false;
    KEPT_FIELDS.forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field && typeof work[name] === "string" && field.value !== work[name]) { field.value = work[name]; changed = true; }
    });
    form.querySelectorAll('input[name="reasons"], input[name="preference"]').forEach(function (box) {
      var on = box.name === "reasons" ? (work.reasons || []).indexOf(box.value) >= 0 : box.value === work.preference;
      if (box.checked !== on) { box.checked = on; changed = true; }
    });
    if (!changed) { return; }
    var output = document.getElementById("edit-output");
    if (output && work.touched) { output.dataset.touched = "1"; }
    PANELS.forEach(function (name) { var details = panel(name); if (details) { details.open = work.panel === name; } });
    var notice = document.getElementById("local-restored");
    if (notice) { notice.hidden = false; }
    var saver = document.getElementById("draft-saver");
    if (saver && window.htmx) { window.htmx.trigger(saver, "autosave"); }  // the server gets it too
    var field = work.panel === "edit" ? output : (work.panel === "reject" ? document.getElementById("reject-comment") : null);
    if (field) { field.focus(); }
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "edit-output") { event.target.dataset.touched = "1"; }
    keepWork(event);
    scheduleSave(event, 600);
  });
  document.addEventListener("change", function (event) {
    if (event.target.name === "preference") { followChoice(event.target.value); }
    keepWork(event);
    scheduleSave(event, 300);
  });

  // Offline: a decision that could not be sent stays in the form (and in this browser) and is sent
  // again when the browser is back online, or by a timer for a server that was unreachable while
  // the browser thought it was online. Sending it again is safe: the server stores one decision per
  // assignment and answers a repeat of the same decision as a success.
  var RETRY_MS = 5000;
  var retry = null;
  var retryTimer = null;
  var draftUnsent = false;
  function connection(text) {
    var status = document.getElementById("connection-status");
    if (status) { status.textContent = text; status.hidden = !text; }
  }
  function requestTo(detail, ending) {
    var config = detail && detail.requestConfig;
    if (!config || config.verb !== "post") { return null; }
    var match = new RegExp("/assignments/(\\d+)/" + ending + "/$").exec(config.path || "");
    return match ? match[1] : null;
  }
  function stopRetrying() {
    retry = null;
    clearInterval(retryTimer);
    retryTimer = null;
  }
  function sendAgain() {
    if (navigator.onLine === false) { return; }
    var section = item();
    if (retry) {
      if (!section || section.dataset.assignment !== retry.assignment) { stopRetrying(); return; }
      var button = document.querySelector('#decision-form button[name="verdict"][value="' + retry.verdict + '"]');
      if (!button) { stopRetrying(); return; }
      connection("Back online: sending your decision again…");
      button.click();
    } else if (draftUnsent) {
      draftUnsent = false;
      var saver = document.getElementById("draft-saver");
      if (saver && window.htmx) { window.htmx.trigger(saver, "autosave"); }
    }
  }
  function unsent(event) {
    var decided = requestTo(event.detail, "decide");
    if (decided) {
      var verdict = event.detail.requestConfig.formData.get("verdict");
      retry = { assignment: decided, verdict: verdict };
      connection("You are offline (or the server cannot be reached). Your decision is kept in this browser and will be sent again automatically when the connection is back.");
      if (!retryTimer) { retryTimer = setInterval(sendAgain, RETRY_MS); }
    } else if (requestTo(event.detail, "draft")) {
      draftUnsent = true;
      if (!retry) { connection("You are offline (or the server cannot be reached). Your work is kept in this browser and saved when the connection is back."); }
      if (!retryTimer) { retryTimer = setInterval(sendAgain, RETRY_MS); }
    }
  }
  document.addEventListener("htmx:sendError", unsent);
  document.addEventListener("htmx:timeout", unsent);
  window.addEventListener("online", sendAgain);
  document.addEventListener("htmx:beforeSwap", function (event) {
    var decided = requestTo(event.detail, "decide");
    if (decided) {
      stopRetrying();  // the server answered: stored (200) or refused with its reason (422)
      if (event.detail.xhr.status === 200) { forget(decided); }
    } else if (requestTo(event.detail, "draft")) {
      draftUnsent = false;
      if (!retry) { connection(""); stopRetrying(); }
    }
  });
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.dataset || !details.dataset.panel) { return; }
    if (details.open) { remember(details.dataset.panel); }
    else if (document.getElementById("panel-field") && document.getElementById("panel-field").value === details.dataset.panel) { remember(""); }
  }, true);

  // Shortcuts. A panel (edit, reject) that is open takes only its own keys: Esc closes it,
  // Ctrl+Enter submits it, and in the reject panel a number ticks a reason unless focus is in a text
  // field. Outside the panels, a letter or number is a shortcut only when focus is on no form control.
  // A key that runs a shortcut never types its character (preventDefault), and a held-down key does
  // not repeat a decision.
  function openPanelElement() { return document.querySelector("details[data-panel][open]"); }
  document.addEventListener("keydown", function (event) {
    var section = item();
    if (!section || event.isComposing || event.keyCode === 229) { return; }
    var open = openPanelElement();
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      if (open && !event.repeat) {
        event.preventDefault();
        click('[data-submit-for="' + open.dataset.panel + '"]');
      }
      return;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      if (guidelinesOpen()) { showGuidelines(false); } else { closePanels(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) { return; }
    var key = event.key.toLowerCase();
    // G opens and closes the guidelines whichever panel is open (they sit beside it), never while typing.
    if (key === "g" && !inFormControl(event.target)) {
      event.preventDefault();
      if (!event.repeat) { showGuidelines(!guidelinesOpen()); }
      return;
    }
    if (open) {
      if (open.dataset.panel === "reject" && /^[1-9]$/.test(key) && !typesText(event.target)) {
        event.preventDefault();  // nothing to type here: the number is the documented reason key
        var reason = document.querySelector('[data-reason-key="' + key + '"]');
        if (reason && !event.repeat) { reason.click(); reason.focus(); }
      }
      if (open.dataset.panel === "skip" && /^[12]$/.test(key) && !inFormControl(event.target) && !event.repeat) {
        event.preventDefault();  // a deliberate key: the reason is the decision to pass the item on
        click('[data-skip-key="' + key + '"]');
      }
      return;
    }
    if (inFormControl(event.target) || event.repeat) { return; }
    if (key === "e") { event.preventDefault(); openPanel("edit"); return; }
    if (key === "r") { event.preventDefault(); openPanel("reject"); return; }
    if (key === "s") { event.preventDefault(); openPanel("skip"); return; }
    if (key === "d") { event.preventDefault(); openPanel("discuss"); return; }
    if (key === "x" && section.dataset.pair === "1") { event.preventDefault(); openPanel("reject"); return; }
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) { return; }
    event.preventDefault();
    // A pair's choice checks the radio and fires change; focus stays on the item, so the next key
    // (A, E, another choice) is a shortcut too and not the radio's.
    target.click();
  });

  // The field a refused decision needs fixed, from what the form holds (the server re-rendered it
  // with the reviewer's input and the open panel).
  function fieldToFix(section) {
    var open = section.dataset.openPanel;
    if (open === "reject") {
      var boxes = Array.prototype.slice.call(document.querySelectorAll('#reject-panel input[name="reasons"]'));
      var ticked = boxes.filter(function (box) { return box.checked; });
      var comment = document.getElementById("reject-comment");
      var other = boxes.filter(function (box) { return box.value === "other" && box.checked; });
      if (ticked.length && other.length && comment && !comment.value.trim()) { return comment; }
      return ticked[0] || boxes[0] || null;
    }
    if (open === "discuss") { return document.getElementById("discuss-question"); }
    if (open === "skip") { return document.querySelector('[data-skip-key="1"]'); }
    if (open === "edit") {
      var instruction = document.getElementById("edit-instruction");
      if (instruction && !instruction.value.trim()) { return instruction; }
      return document.getElementById("edit-output");
    }
    // A pair accepted without a choice: the choices, focused as a group so 1/2/T still choose.
    return document.getElementById("pair-choice");
  }

  // After htmx puts a new item in, keys go to it: an error puts focus where the fix is needed.
  function focusItem() {
    var section = item();
    if (!section) { return; }
    if (section.dataset.error) {
      var field = fieldToFix(section);
      if (field) {
        field.focus({ preventScroll: true });
        field.scrollIntoView({ block: "center" });
        return;
      }
    }
    section.focus();
  }
  // On afterSwap, not afterSettle: settling waits a timer (20 ms), and a key pressed in between (E
  // opening the editor the moment the next item shows) would lose its focus to the item.
  document.addEventListener("htmx:afterSwap", function (event) {
    // A new item (or the same one refused) takes focus, even where htmx kept it in a field of the
    // same id; an autosave (which swaps only the draft status) leaves the reviewer's cursor alone.
    var swappedItem = event.target && event.target.id === "item";
    // Someone reading the guidelines (a key pressed there brought a new item) keeps their place in them.
    var reading = guidelinesOpen() && guidelinesPanel().contains(document.activeElement);
    if (!reading && (swappedItem || !document.activeElement || document.activeElement === document.body)) { focusItem(); }
    syncGuidelinesToggle();
    restoreWork();
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncGuidelinesToggle();
    forgetOld();
    focusItem();
    restoreWork();
  });
})();
