/**
 * Registration, login (with its per-email failure limit), refresh-token rotation and logout.
 *
 * Refresh tokens: every login starts a family. A refresh spends its token and issues the successor in
 * one batch, decided by one conditional UPDATE (`used_at IS NULL`), so of two concurrent refreshes of the
 * same token exactly one wins. A spent token presented again means it leaked (or a client raced itself):
 * the whole family is revoked, as the contract requires.
 */
import { sql } from "drizzle-orm";
import { refreshTokens, users } from "../../db/schema.ts";
import { callerColumns } from "../../lib/auth.ts";
import { type Db, runBatch } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { decoyPasswordHash, hashPassword, verifyPassword } from "../../lib/password.ts";
import {
	ACCESS_TOKEN_TTL_SECONDS,
	hashRefreshToken,
	newRefreshToken,
	REFRESH_TOKEN_TTL_MS,
	signAccessToken,
} from "../../lib/tokens.ts";
import type { Caller } from "../../types.ts";

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILED_LOGINS = 10;

export interface TokenPair {
	access_token: string;
	refresh_token: string;
	token_type: "bearer";
	expires_in: number;
}

export async function registerUser(
	db: Db,
	input: { email: string; password: string; fullName: string | null },
	adminEmails: ReadonlySet<string>,
): Promise<Caller> {
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
		.returning(callerColumns);
	if (!user) throw new AppError("AUTH_EMAIL_CONFLICT", "An account with this email already exists", "email");
	return user;
}

async function tokenPair(userId: number, refreshToken: string, jwtSecret: string): Promise<TokenPair> {
	return {
		access_token: await signAccessToken(userId, jwtSecret),
		refresh_token: refreshToken,
		token_type: "bearer",
		expires_in: ACCESS_TOKEN_TTL_SECONDS,
	};
}

/**
 * Round trip 1 reserves an attempt slot (the count is checked inside the INSERT, so concurrent guesses
 * cannot overshoot the limit) and reads the user. A wrong password leaves its slot as a recorded failure;
 * a correct one clears the email's slots and stores the new refresh token (round trip 2).
 */
export async function login(db: Db, email: string, password: string, jwtSecret: string): Promise<TokenPair> {
	const now = new Date();
	const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
	const [, reserved, oldest, found] = await runBatch(db, [
		sql`DELETE FROM login_attempts WHERE email = ${email} AND attempted_at <= ${windowStart}`,
		sql`INSERT INTO login_attempts (email, attempted_at)
			SELECT ${email}, ${now.toISOString()}
			WHERE (SELECT count(*) FROM login_attempts WHERE email = ${email}) < ${MAX_FAILED_LOGINS}
			RETURNING id`,
		sql`SELECT min(attempted_at) AS oldest FROM login_attempts WHERE email = ${email}`,
		sql`SELECT id, password_hash, is_active FROM users WHERE email = ${email}`,
	]);

	if (reserved?.length === 0) {
		const oldestText = oldest?.[0]?.oldest;
		const oldestAttempt = typeof oldestText === "string" ? Date.parse(oldestText) : now.getTime();
		const retryAfter = Math.max(1, Math.ceil((oldestAttempt + LOGIN_WINDOW_MS - now.getTime()) / 1000));
		throw new AppError("RATE_LIMITED", "Too many failed login attempts; try again later", null, {
			headers: { "Retry-After": String(retryAfter) },
		});
	}

	const account = found?.[0] as { id: number; password_hash: string; is_active: number } | undefined;
	const passwordMatches = await verifyPassword(
		password,
		account?.password_hash ?? (await decoyPasswordHash()),
	);
	if (!account || !passwordMatches) {
		throw new AppError("AUTH_INVALID_CREDENTIALS", "Email or password is incorrect");
	}
	if (!account.is_active) throw new AppError("AUTH_ACCOUNT_DEACTIVATED", "This account is deactivated");

	const refreshToken = newRefreshToken();
	await runBatch(db, [
		sql`DELETE FROM login_attempts WHERE email = ${email}`,
		db.insert(refreshTokens).values({
			userId: account.id,
			familyId: crypto.randomUUID(),
			tokenHash: await hashRefreshToken(refreshToken),
			expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_MS).toISOString(),
			createdAt: now.toISOString(),
		}),
	]);
	return tokenPair(account.id, refreshToken, jwtSecret);
}

/** One round trip: reuse detection, the conditional spend, the successor and its owner, in one batch. */
export async function rotateRefreshToken(db: Db, presented: string, jwtSecret: string): Promise<TokenPair> {
	const now = new Date().toISOString();
	const presentedHash = await hashRefreshToken(presented);
	const successor = newRefreshToken();
	const successorHash = await hashRefreshToken(successor);
	const expiresAt = new Date(Date.now() + REFRESH_TOKEN_TTL_MS).toISOString();

	const [, , , owner] = await runBatch(db, [
		// A spent token presented again: revoke its family (the successor included).
		sql`
			UPDATE refresh_tokens SET revoked_at = ${now}
			WHERE revoked_at IS NULL AND family_id = (
				SELECT family_id FROM refresh_tokens WHERE token_hash = ${presentedHash} AND used_at IS NOT NULL)`,
		// The decision: only one request can move used_at from NULL, and only for an active user.
		sql`
			UPDATE refresh_tokens SET used_at = ${now}, replaced_by_hash = ${successorHash}
			WHERE token_hash = ${presentedHash} AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ${now}
				AND user_id IN (SELECT id FROM users WHERE is_active = 1)`,
		// Issued only if the UPDATE above was this request's (its successor hash is unique).
		sql`
			INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, created_at)
			SELECT user_id, family_id, ${successorHash}, ${expiresAt}, ${now} FROM refresh_tokens
			WHERE token_hash = ${presentedHash} AND replaced_by_hash = ${successorHash}`,
		sql`SELECT user_id FROM refresh_tokens WHERE token_hash = ${successorHash}`,
	]);
	const userId = owner?.[0]?.user_id as number | undefined;
	if (userId === undefined)
		throw new AppError("AUTH_INVALID_TOKEN", "The refresh token is invalid or expired");
	return tokenPair(userId, successor, jwtSecret);
}

/** Ends the login session the token belongs to: every token of its family is revoked. */
export async function revokeRefreshToken(db: Db, presented: string): Promise<void> {
	const presentedHash = await hashRefreshToken(presented);
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
	await runBatch(db, [
		sql`DELETE FROM login_attempts WHERE attempted_at <= ${windowStart}`,
		sql`DELETE FROM refresh_tokens WHERE expires_at <= ${now.toISOString()}`,
	]);
}
