// Starts Swagger UI on the server's own OpenAPI document (relative URL: works behind a proxy
// that mounts the server under a prefix). No validator badge: it would call validator.swagger.io.
window.ui = SwaggerUIBundle({
  url: "v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
