// Starts Swagger UI on /docs (served with the page's own origin; see src/docs.ts). A separate file, not
// an inline script, so the page's Content-Security-Policy can allow scripts from 'self' only.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
	url: root.dataset.url,
	domNode: root,
	deepLinking: true,
	// The default validator badge would send the document to validator.swagger.io.
	validatorUrl: null,
});
