/* Forms that help: the error summary takes the focus when a form comes back with errors (its
   links lead to the fields), and the report form's pin can be placed with the keyboard. */
(function () {
  "use strict";

  var summary = document.getElementById("errors");
  if (summary) {
    summary.focus();
    Array.prototype.forEach.call(summary.querySelectorAll("a[href^='#']"), function (link) {
      link.addEventListener("click", function (event) {
        var field = document.getElementById(link.getAttribute("href").slice(1));
        if (!field) return;
        event.preventDefault();
        field.scrollIntoView({ block: "center" });
        field.focus();
      });
    });
  }

  /* Keyboard: Leaflet already pans with the arrows and zooms with + and -; Enter or Space puts
     the pin at the centre of the map (a cross shows where while the map has the focus). */
  var el = document.getElementById("pick-map");
  if (el && el.hakamaMap) {
    var map = el.hakamaMap;
    el.addEventListener("keydown", function (event) {
      if (event.target !== el) return;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        map.fire("click", { latlng: map.getCenter() });
      }
    });
  }
})();
