// The console's only script: progressive enhancement, every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Search as you type: the search form submits itself a moment after typing stops.
  document.querySelectorAll("form[data-live] input[type=search]").forEach(function (input) {
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { input.form.requestSubmit(); }, 350);
    });
  });
  // Copy buttons: the text of the element the button names.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (target && navigator.clipboard) {
        navigator.clipboard.writeText(target.textContent.trim());
        button.setAttribute("aria-pressed", "true");
      }
    });
  });
});
