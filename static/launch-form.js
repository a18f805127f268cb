// The launch form shows only the chosen technique's options. Without this script every technique's
// options stay visible, and the server ignores those of the techniques not chosen.
(function () {
  "use strict";

  function showChosen(form) {
    const technique = form.querySelector("select[name=technique]");
    if (!technique) return;
    for (const section of form.querySelectorAll("[data-technique-options]")) {
      section.hidden = section.dataset.techniqueOptions !== technique.value;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.querySelector("form[data-launch-form]");
    if (!form) return;
    showChosen(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "technique") showChosen(form);
    });
  });
})();
