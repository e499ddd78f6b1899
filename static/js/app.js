// execdash: small progressive enhancements. Loaded with `defer`; never required.
(function () {
  "use strict";

  // After htmx brings back a form with errors, move focus to the error summary so keyboard
  // and screen-reader users hear what went wrong. Once only: inline validation that runs
  // while the person types must not pull the focus away from the field.
  document.addEventListener("htmx:afterSettle", function () {
    var summary = document.querySelector(".error-summary[data-focus]");
    if (summary) {
      summary.removeAttribute("data-focus");
      summary.focus();
    }
  });
})();
