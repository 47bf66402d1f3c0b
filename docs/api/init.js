// Swagger UI over the document beside this page (data-spec, relative), so
// the same files work at the front door's /api/docs/ and a service's /docs/.
// A separate file, not an inline script: a strict Content-Security-Policy
// (script-src 'self') still allows it.
(function () {
  var root = document.getElementById("docs");
  window.ui = SwaggerUIBundle({
    url: new URL(root.getAttribute("data-spec"), window.location.href).href,
    domNode: root,
    deepLinking: true,
    // No validator badge: it would send the document to an outside service.
    validatorUrl: null,
    persistAuthorization: false,
  });
})();
