import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { AppConfig } from "./config.ts";
import type { D1Usage, Db } from "./db.ts";

/**
 * The authenticated caller as its access token names it. Whether it may still act (exists, active, token
 * not revoked, still an admin) is decided inside each of the request's D1 round trips (lib/db.ts).
 */
interface Caller {
	id: number;
}

export interface AppEnv {
	Bindings: Env;
	Variables: {
		requestId: string;
		config: AppConfig;
		/** The request's database: guarded by the caller on authenticated routes, metered everywhere. */
		db: Db;
		d1Usage: D1Usage;
		/** The request's D1 session (read replication): every round trip of the request runs on it. */
		d1Session: D1DatabaseSession;
		/** Set by `requireUser` / `requireAdmin`; absent on public routes. */
		caller: Caller;
	};
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
