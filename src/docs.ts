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
import { registerWebhookDocs } from "./features/webhooks/webhook-catalogue.ts";
import type { AppEnv } from "./lib/app-env.ts";

const TITLE = "Bookstore edge API";

/** Where the static assets live (public/docs/ in the repository). */
const SWAGGER_UI_PATH = "/docs/swagger-ui";

/** Same origin only: the page, Swagger UI's files and /openapi.json (and "Try it out" calls) all come from 'self'. */
const DOCS_CONTENT_SECURITY_POLICY = [
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
	// The response headers every operation documents by reference (lib/openapi.ts `standardHeaders` and
	// friends).
	const headers: Record<string, { description: string; example: string }> = {
		"X-Request-Id": {
			description:
				"This request's id (the client's `X-Request-Id` when it sent a sane one); quote it when reporting a problem",
			example: "3f2b8c1e-6d0a-4a5e-9c57-1b2f0e7d9a41",
		},
		"Server-Timing": {
			description: 'D1 time and round trips of this request: `d1;dur=<ms>;desc="<round trips>"`',
			example: 'd1;dur=3.2;desc="1"',
		},
		"Retry-After": { description: "Seconds to wait before trying again", example: "60" },
		"Idempotent-Replayed": {
			description:
				"`true` when the answer is the stored order of an earlier request with the same `Idempotency-Key`",
			example: "true",
		},
		ETag: { description: "The representation's validator, for `If-None-Match`", example: '"5f1c2a"' },
		"Cache-Control": {
			description: "How long shared caches and browsers may keep the answer",
			example: "public, max-age=30, stale-while-revalidate=60",
		},
		Age: {
			description:
				"On an answer from the Worker's cache: seconds since it was read from the database (caches count `max-age` from then)",
			example: "12",
		},
	};
	for (const [name, { description, example }] of Object.entries(headers)) {
		app.openAPIRegistry.registerComponent("headers", name, {
			description,
			schema: { type: "string", example },
		});
	}
	// The document's top-level `webhooks`: what integrators receive, one entry per event type.
	registerWebhookDocs(app);
	app.doc31("/openapi.json", {
		openapi: "3.1.0",
		// Relative: the document is served by the API it describes, so "Try it out" calls the same origin.
		servers: [{ url: "/", description: "The origin serving this document" }],
		info: {
			title: TITLE,
			version: "1.0.0",
			license: { name: "MIT", url: "https://spdx.org/licenses/MIT.html" },
			description:
				'Catalog, accounts, wishlist, cart and checkout, and pre-booking of out-of-stock books with back-in-stock emails, and signed webhooks for integrators (`webhooks`). Every error has the body `{code, detail, field}`; every response carries `X-Request-Id` and `Server-Timing` (`d1;desc="<round trips>"`). Every operation has an `operationId`, and the `code` of each error response is an enum of exactly the codes the operation answers with for that status.',
		},
	});
	app.get("/docs", (c) => {
		c.header("Content-Security-Policy", DOCS_CONTENT_SECURITY_POLICY);
		return c.html(docsPage);
	});
	app.get("/", (c) => c.redirect("/docs"));
}
