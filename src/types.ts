import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { D1Usage, Db } from "./lib/db.ts";

/** The authenticated caller, loaded from D1 on every authenticated request. */
export interface Caller {
	id: number;
	email: string;
	fullName: string | null;
	role: "user" | "admin";
	isActive: boolean;
	createdAt: string;
}

export interface AppEnv {
	Bindings: Env;
	Variables: {
		requestId: string;
		db: Db;
		d1Usage: D1Usage;
		/** Set by `requireUser` / `requireAdmin`; absent on public routes. */
		caller: Caller;
	};
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
