/**
 * The API's documentation: the OpenAPI 3.1 document at /openapi.json (generated on request from the
 * routes' zod schemas, so it sees every router mounted after these routes), Swagger UI at /docs, and `/`
 * redirecting there.
 *
 * Swagger UI's files are Workers Static Assets under /docs/swagger-ui/ (wrangler.toml `[assets]`, copied
 * from the pinned `swagger-ui-dist` by scripts/docs-assets.ts): the platform serves them before the Worker
 * runs, so /docs works offline, loads nothing from another origin and adds nothing to the Worker bundle.
 * None of this needs a secret: mount it before the configuration check, so a deployment missing
 * `JWT_SECRET` still shows its contract.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { registerWebhookDocs } from "./features/webhooks/webhook-events.ts";
import type { AppEnv } from "./types.ts";

const TITLE = "Bookstore edge API";

/** Where the static assets live (public/docs/ in the repository). */
export const SWAGGER_UI_PATH = "/docs/swagger-ui";

/** Same origin only: the page, Swagger UI's files and /openapi.json (and "Try it out" calls) all come from 'self'. */
export const DOCS_CONTENT_SECURITY_POLICY = [
	"default-src 'none'",
	"script-src 'self'",
	"style-src 'self'",
	// Swagger UI's stylesheet draws its icons as data: SVGs.
	"img-src 'self' data:",
	"connect-src 'self'",
	"base-uri 'none'",
	"form-action 'none'",
	"frame-ancestors 'none'",
].join("; ");

const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLE}</title>
<link rel="icon" type="image/png" href="${SWAGGER_UI_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="${SWAGGER_UI_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-url="/openapi.json"></div>
<script src="${SWAGGER_UI_PATH}/swagger-ui-bundle.js"></script>
<script src="/docs/docs.js"></script>
</body>
</html>
`;

export function publishDocs(app: OpenAPIHono<AppEnv>): void {
	app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
		type: "http",
		scheme: "bearer",
		bearerFormat: "JWT",
		description: "Access token from POST /auth/login or /auth/refresh (15 minutes)",
	});
	// The document's top-level `webhooks`: what integrators receive, one entry per event type.
	registerWebhookDocs(app);
	app.doc31("/openapi.json", {
		openapi: "3.1.0",
		info: {
			title: TITLE,
			version: "1.0.0",
			description:
				'Catalog, accounts, wishlist, cart and checkout, and pre-booking of out-of-stock books with back-in-stock emails, and signed webhooks for integrators (`webhooks`). Every error has the body `{code, detail, field}`; every response carries `X-Request-Id` and `Server-Timing` (`d1;desc="<round trips>"`).',
		},
	});
	app.get("/docs", (c) => {
		c.header("Content-Security-Policy", DOCS_CONTENT_SECURITY_POLICY);
		return c.html(docsPage);
	});
	app.get("/", (c) => c.redirect("/docs"));
}
