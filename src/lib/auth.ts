/**
 * Authentication middleware. The JWT says who the caller claims to be; whether it may still act (exists,
 * active, token not revoked by a deactivation, still an admin) is checked by the caller guard at the head
 * of every D1 round trip the request makes (lib/db.ts) — in the same transaction as the work, so a
 * deactivated user or a demoted admin is refused at once and its write never commits, at no extra round
 * trip. A `GET`'s check is a read a replica may answer, so such a caller may read for as long as that
 * replica lags (docs/architecture.md). Routes declare their access level with `...signedIn` or `...adminOnly`.
 *
 * On admin routes a non-admin gets 403 before anything else (API.md): validation, and some rules decided
 * without D1 (ADMIN_SELF_MODIFICATION, the webhook URL policy), answer before any round trip, and a route
 * may need none at all. So when an admin request made no round trip, one is made for the guard alone
 * after the handler, whatever it answered: a refusal replaces that answer. Routes that read D1 pay nothing.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env.ts";
import { type CallerGuard, createDb, isReadOnlyMethod } from "./db.ts";
import { AppError } from "./errors.ts";
import { bearerAuth } from "./openapi.ts";
import { type AccessClaims, verifyAccessToken } from "./tokens.ts";

const BEARER = /^Bearer +([\w-]+\.[\w-]+\.[\w-]+)$/i;

/** The claims of the request's bearer access token; null without one or when it is not valid. */
export async function accessTokenClaims(c: Context<AppEnv>): Promise<AccessClaims | null> {
	const token = BEARER.exec(c.req.header("Authorization")?.trim() ?? "")?.[1];
	return token ? verifyAccessToken(token, c.get("config").jwtSecret) : null;
}

const requireRole = (role: CallerGuard["role"]) =>
	createMiddleware<AppEnv>(async (c, next) => {
		if (!c.req.header("Authorization"))
			throw new AppError("AUTH_REQUIRED", "Send a bearer access token in the Authorization header");
		const claims = await accessTokenClaims(c);
		if (claims === null) throw new AppError("AUTH_INVALID_TOKEN", "The access token is invalid or expired");
		c.set("caller", { id: claims.userId });
		// c.get, not c.var: Hono builds a new object of every variable for each `c.var` read.
		const usage = c.get("d1Usage");
		const db = createDb(c.get("d1Session"), usage, {
			...claims,
			role,
			readOnly: isReadOnlyMethod(c.req.method),
		});
		c.set("db", db);
		const roundTrips = usage.roundTrips;
		await next();
		// Throws the guard's 401/403, which the error handler puts in place of the route's answer.
		if (role === "admin" && usage.roundTrips === roundTrips) await db.run(sql`SELECT 1`);
	});

const requireUser = requireRole("user");
const requireAdmin = requireRole("admin");

/** Spread into `createRoute`: the route needs a signed-in, active user (and says so in the OpenAPI). */
export const signedIn = { security: bearerAuth, middleware: [requireUser] };
/** Spread into `createRoute`: the route needs an active admin. */
export const adminOnly = { security: bearerAuth, middleware: [requireAdmin] };
