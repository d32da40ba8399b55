// Starts Swagger UI on /docs (an external script: the page policy allows no inline script). The OpenAPI
// document's URL is the page's data-openapi attribute; validatorUrl null: nothing is asked of validator.swagger.io.
(function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
