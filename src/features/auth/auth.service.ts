/**
 * Registration, login (with its per-email failure limit), refresh-token rotation and logout.
 *
 * Refresh tokens: every login starts a family. A refresh spends its token and issues the successor in
 * one batch, decided by one conditional UPDATE (`used_at IS NULL`), so of two concurrent refreshes of the
 * same token exactly one wins. A spent token presented again means it leaked (or a client raced itself):
 * the whole family is revoked, as the contract requires.
 */
import { and, eq, lte, sql } from "drizzle-orm";
import { loginAttempts, refreshTokens, users } from "../../db/schema.ts";
import { batch, type Db, rawQuery } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { decoyPasswordHash, hashPassword, verifyPassword } from "../../lib/password.ts";
import {
	ACCESS_TOKEN_TTL_SECONDS,
	type AccessClaims,
	hashToken,
	newRefreshToken,
	REFRESH_TOKEN_TTL_MS,
	signAccessToken,
} from "../../lib/tokens.ts";
import type { UserView } from "../users/users.schemas.ts";
import { userColumns } from "../users/users.service.ts";
import type { TokenPair } from "./auth.schemas.ts";

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILED_LOGINS_PER_NETWORK = 10;
export const MAX_FAILED_LOGINS_PER_EMAIL = 100;

export async function registerUser(
	db: Db,
	input: { email: string; password: string; fullName: string | null },
	adminEmails: ReadonlySet<string>,
): Promise<UserView> {
	const passwordHash = await hashPassword(input.password);
	const [user] = await db
		.insert(users)
		.values({
			email: input.email,
			passwordHash,
			fullName: input.fullName,
			role: adminEmails.has(input.email) ? "admin" : "user",
		})
		.onConflictDoNothing()
		.returning(userColumns);
	if (!user) throw new AppError("AUTH_EMAIL_CONFLICT", "An account with this email already exists", "email");
	return user;
}

async function tokenPair(claims: AccessClaims, refreshToken: string, jwtSecret: string): Promise<TokenPair> {
	return {
		access_token: await signAccessToken(claims, jwtSecret),
		refresh_token: refreshToken,
		token_type: "bearer",
		expires_in: ACCESS_TOKEN_TTL_SECONDS,
	};
}

/**
 * Round trip 1 reserves an attempt slot and reads the user. The limits are conditions of the INSERT, so
 * concurrent guesses cannot overshoot them: at most 10 failures per (email, client network) — a stranger
 * elsewhere cannot lock the user out of their own network — and 100 per email from all networks, which
 * keeps guessing bounded. A wrong password leaves its slot as a recorded failure; a correct one clears the
 * slots of this email and network and stores the new refresh token (round trip 2).
 */
export async function logIn(
	db: Db,
	credentials: { email: string; password: string; network: string },
	jwtSecret: string,
): Promise<TokenPair> {
	const { email, password, network } = credentials;
	const now = new Date();
	const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
	const fromNetwork = sql`email = ${email} AND network = ${network}`;
	const [, reserved, oldest, found] = await batch(db, [
		rawQuery(sql`DELETE FROM login_attempts WHERE email = ${email} AND attempted_at <= ${windowStart}`),
		rawQuery<{ id: number }>(sql`INSERT INTO login_attempts (email, network, attempted_at)
			SELECT ${email}, ${network}, ${now.toISOString()}
			WHERE (SELECT count(*) FROM login_attempts WHERE ${fromNetwork}) < ${MAX_FAILED_LOGINS_PER_NETWORK}
				AND (SELECT count(*) FROM login_attempts WHERE email = ${email}) < ${MAX_FAILED_LOGINS_PER_EMAIL}
			RETURNING id`),
		// When refused: the oldest failure that counts, whichever limit was hit, says when a slot frees up.
		rawQuery<{ oldest: string | null }>(sql`SELECT CASE
				WHEN (SELECT count(*) FROM login_attempts WHERE email = ${email}) >= ${MAX_FAILED_LOGINS_PER_EMAIL}
				THEN (SELECT min(attempted_at) FROM login_attempts WHERE email = ${email})
				ELSE (SELECT min(attempted_at) FROM login_attempts WHERE ${fromNetwork}) END AS oldest`),
		db
			.select({
				id: users.id,
				passwordHash: users.passwordHash,
				isActive: users.isActive,
				tokenVersion: users.tokenVersion,
			})
			.from(users)
			.where(eq(users.email, email)),
	]);

	if (reserved.length === 0) {
		const oldestText = oldest[0]?.oldest;
		const oldestAttempt = oldestText ? Date.parse(oldestText) : now.getTime();
		const retryAfter = Math.max(1, Math.ceil((oldestAttempt + LOGIN_WINDOW_MS - now.getTime()) / 1000));
		throw new AppError("RATE_LIMITED", "Too many failed login attempts; try again later", null, {
			headers: { "Retry-After": String(retryAfter) },
		});
	}

	const account = found[0];
	const passwordMatches = await verifyPassword(
		password,
		account?.passwordHash ?? (await decoyPasswordHash()),
	);
	if (!account || !passwordMatches) {
		throw new AppError("AUTH_INVALID_CREDENTIALS", "Email or password is incorrect");
	}
	if (!account.isActive) throw new AppError("AUTH_ACCOUNT_DEACTIVATED", "This account is deactivated");

	const refreshToken = newRefreshToken();
	await db.batch([
		db.delete(loginAttempts).where(and(eq(loginAttempts.email, email), eq(loginAttempts.network, network))),
		db.insert(refreshTokens).values({
			userId: account.id,
			familyId: crypto.randomUUID(),
			tokenHash: await hashToken(refreshToken),
			expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_MS).toISOString(),
			createdAt: now.toISOString(),
		}),
	]);
	return tokenPair({ userId: account.id, tokenVersion: account.tokenVersion }, refreshToken, jwtSecret);
}

/** One round trip: reuse detection, the conditional spend, the successor and its owner, in one batch. */
export async function rotateRefreshToken(db: Db, presented: string, jwtSecret: string): Promise<TokenPair> {
	const now = new Date().toISOString();
	const presentedHash = await hashToken(presented);
	const successor = newRefreshToken();
	const successorHash = await hashToken(successor);
	const expiresAt = new Date(Date.now() + REFRESH_TOKEN_TTL_MS).toISOString();

	const [, , , owner] = await batch(db, [
		// A spent token presented again: revoke its family (the successor included).
		rawQuery(sql`
			UPDATE refresh_tokens SET revoked_at = ${now}
			WHERE revoked_at IS NULL AND family_id = (
				SELECT family_id FROM refresh_tokens WHERE token_hash = ${presentedHash} AND used_at IS NOT NULL)`),
		// The decision: only one request can move used_at from NULL, and only for an active user.
		rawQuery(sql`
			UPDATE refresh_tokens SET used_at = ${now}, replaced_by_hash = ${successorHash}
			WHERE token_hash = ${presentedHash} AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ${now}
				AND user_id IN (SELECT id FROM users WHERE is_active = 1)`),
		// Issued only if the UPDATE above was this request's (its successor hash is unique).
		rawQuery(sql`
			INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, created_at)
			SELECT user_id, family_id, ${successorHash}, ${expiresAt}, ${now} FROM refresh_tokens
			WHERE token_hash = ${presentedHash} AND replaced_by_hash = ${successorHash}`),
		db
			.select({ userId: users.id, tokenVersion: users.tokenVersion })
			.from(refreshTokens)
			.innerJoin(users, eq(users.id, refreshTokens.userId))
			.where(eq(refreshTokens.tokenHash, successorHash)),
	]);
	const claims = owner[0];
	if (!claims) throw new AppError("AUTH_INVALID_TOKEN", "The refresh token is invalid or expired");
	return tokenPair(claims, successor, jwtSecret);
}

/** Ends the login session the token belongs to: every token of its family is revoked. */
export async function revokeRefreshToken(db: Db, presented: string): Promise<void> {
	const presentedHash = await hashToken(presented);
	await db.run(sql`
		UPDATE refresh_tokens SET revoked_at = ${new Date().toISOString()}
		WHERE revoked_at IS NULL
			AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ${presentedHash})`);
}

/**
 * Housekeeping (cron): login attempts outside the window and refresh tokens past their expiry no longer
 * decide anything. Expired tokens are the only ones removed, so reuse detection keeps every live family.
 */
export async function purgeExpiredAuthRecords(db: Db, now: Date): Promise<void> {
	const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
	await db.batch([
		db.delete(loginAttempts).where(lte(loginAttempts.attemptedAt, windowStart)),
		db.delete(refreshTokens).where(lte(refreshTokens.expiresAt, now.toISOString())),
	]);
}
