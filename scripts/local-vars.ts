/**
 * The development configuration: what `npm run dev` and the benchmarks pass to `wrangler dev` (as `--var`s)
 * and the tests bind (vitest.config.ts). It lives here, not in wrangler.toml's `[vars]`, so a deploy never
 * inherits a localhost URL, a `.local` admin or the example sender: wrangler.toml says
 * `ENVIRONMENT = "production"` and leaves the site's values to the deployment (README, "Deploy"). Not in
 * .dev.vars either: with `[secrets] required` declared, wrangler reads only those secrets and the names
 * `[vars]` declares from it.
 */
export const LOCAL_VARS = {
	// Outside production: webhooks may target http://localhost, and local URLs are accepted.
	ENVIRONMENT: "development",
	// Comma-separated emails that become admins once verified (the seeded demo admin is one).
	ADMIN_EMAILS: "admin@bookstore.local",
	// Comma-separated browser origins allowed by CORS ("*" allows any origin, without credentials). In
	// development any localhost / 127.0.0.1 origin is allowed as well (src/lib/response-headers.ts).
	CORS_ORIGINS: "http://localhost:3000,http://localhost:8787",
	// Emails link under it: books, and the sign-up, reset and confirmation pages (served by this API here).
	APP_URL: "http://localhost:8787",
	// This API's URL: the one-click unsubscribe links point at it.
	API_URL: "http://localhost:8787",
	// Sender of the emails (Email Service's local mode accepts any).
	MAIL_FROM: "Bookstore <notifications@bookstore.example>",
} as const satisfies Record<string, string>;

/** `--var NAME:value` arguments of `wrangler dev` for each development value (and any extra ones). */
export const localVarArgs = (extra: Record<string, string> = {}): string[] =>
	Object.entries({ ...LOCAL_VARS, ...extra }).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
