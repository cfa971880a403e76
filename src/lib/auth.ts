/**
 * Authentication middleware. The JWT says who the caller claims to be; the users table says whether they
 * still may act (active) and as what (role), so a deactivated user or a demoted admin is refused at once,
 * even with an unexpired token. This lookup is the request's first D1 round trip.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { users } from "../db/schema.ts";
import type { AppEnv, Caller } from "../types.ts";
import { loadConfig } from "./config.ts";
import { AppError } from "./errors.ts";
import { bearerAuth } from "./openapi.ts";
import { verifyAccessToken } from "./tokens.ts";

const BEARER = /^Bearer +([\w-]+\.[\w-]+\.[\w-]+)$/i;

/** The columns of a `Caller` (never the password hash). */
export const callerColumns = {
	id: users.id,
	email: users.email,
	fullName: users.fullName,
	role: users.role,
	isActive: users.isActive,
	createdAt: users.createdAt,
};

async function authenticate(c: Context<AppEnv>): Promise<Caller> {
	const header = c.req.header("Authorization");
	if (!header) throw new AppError("AUTH_REQUIRED", "Send a bearer access token in the Authorization header");
	const token = BEARER.exec(header.trim())?.[1];
	const userId = token ? await verifyAccessToken(token, loadConfig(c.env).jwtSecret) : null;
	if (userId === null) throw new AppError("AUTH_INVALID_TOKEN", "The access token is invalid or expired");
	const caller = await c.var.db.select(callerColumns).from(users).where(eq(users.id, userId)).get();
	if (!caller) throw new AppError("AUTH_INVALID_TOKEN", "The access token is invalid or expired");
	if (!caller.isActive) throw new AppError("AUTH_ACCOUNT_DEACTIVATED", "This account is deactivated");
	return caller;
}

export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
	c.set("caller", await authenticate(c));
	await next();
});

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
	const caller = await authenticate(c);
	if (caller.role !== "admin") throw new AppError("AUTH_FORBIDDEN", "This action needs an admin account");
	c.set("caller", caller);
	await next();
});

/** Spread into `createRoute`: the route needs a signed-in, active user (and says so in the OpenAPI). */
export const signedIn = { security: bearerAuth, middleware: [requireUser] };
/** Spread into `createRoute`: the route needs an active admin. */
export const adminOnly = { security: bearerAuth, middleware: [requireAdmin] };
