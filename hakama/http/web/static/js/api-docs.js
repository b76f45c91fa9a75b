/* The API reference: Swagger UI (vendored) on our OpenAPI description, no call to any other
   host (no validator badge). A file rather than an inline script, for a strict CSP. */
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  if (!el || !window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({
    url: el.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: false  // its anchors inside the operation buttons are nested focus stops
  });
})();
