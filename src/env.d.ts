/**
 * Variables the Worker reads that wrangler.toml does not declare (so `npm run cf-typegen` does not type
 * them): `ENVIRONMENT` is absent by default (a development setup) and set to "production" for deploys
 * (README, Deploy).
 */
interface Env {
	ENVIRONMENT?: string;
}
declare namespace Cloudflare {
	interface Env {
		ENVIRONMENT?: string;
	}
}
