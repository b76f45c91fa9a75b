// Buttons marked data-print print the page; an external file, so no inline handler is needed
// (the Content-Security-Policy allows this server's own scripts only).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
