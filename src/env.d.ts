/**
 * The site's variables, which wrangler.toml does not declare (so `npm run cf-typegen` cannot type them): a
 * deployment sets its own (README, "Deploy"), `npm run dev` passes scripts/local-vars.ts.
 * Optional because a deployment may forget one; src/lib/config.ts refuses to run without them.
 */
interface SiteVars {
	ADMIN_EMAILS?: string;
	CORS_ORIGINS?: string;
	APP_URL?: string;
	API_URL?: string;
	MAIL_FROM?: string;
}
interface Env extends SiteVars {}
declare namespace Cloudflare {
	interface Env extends SiteVars {}
}
