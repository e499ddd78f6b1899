// execdash: small progressive enhancements. Loaded with `defer`; never required.
(function () {
  "use strict";

  // After htmx swaps a form that came back with errors, move focus to the error summary
  // so keyboard and screen-reader users hear what went wrong.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelector) {
      return;
    }
    var summary = target.querySelector(".error-summary[data-focus]");
    if (summary) {
      summary.focus();
    }
  });
})();
