// What this browser keeps of a reviewer's unsent work (review.js) belongs to the user signed in:
// every page signed in as a user drops what is kept under any other scope, and logging out clears it
// all. (The kept work is encrypted with a key only its owner's review page gets: review/kept_work.py.)
(function () {
  "use strict";
  var KEPT = "review-work:";

  function drop(keep) {
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var key = localStorage.key(i);
        if (key && key.indexOf(KEPT) === 0 && !(keep && key.indexOf(keep) === 0)) { localStorage.removeItem(key); }
      }
    } catch (e) { /* storage off: nothing kept */ }
  }

  // The login page (nobody signed in) keeps it: the reviewer whose session expired is on the way back.
  var scope = document.body && document.body.dataset.keptWorkScope;
  if (scope) { drop(KEPT + scope + ":"); }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.matches && form.matches("form.logout")) { drop(null); }
  }, true);
})();
