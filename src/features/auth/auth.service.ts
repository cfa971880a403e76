/**
 * Registration, login (limited by the failure ledger of ./login-limits.ts), refresh-token rotation and logout.
 *
 * Refresh tokens: every login starts a family. A refresh spends its token and issues the successor in
 * one batch, decided by one conditional UPDATE (`used_at IS NULL`), so of two concurrent refreshes of the
 * same token exactly one wins. A spent token presented again means it leaked (or a client raced itself):
 * the whole family is revoked, as the contract requires.
 */
import { and, eq, lte, type SQL, sql } from "drizzle-orm";
import { emailTokens, loginAttempts, refreshTokens, users } from "../../db/schema.ts";
import { batch, type Db, rawQuery } from "../../lib/db.ts";
import { AppError, rateLimited } from "../../lib/errors.ts";
import { hashPassword, verifyPassword } from "../../lib/password.ts";
import {
	ACCESS_TOKEN_TTL_SECONDS,
	type AccessClaims,
	hashToken,
	newSecretToken,
	REFRESH_TOKEN_TTL_MS,
	signAccessToken,
} from "../../lib/tokens.ts";
import type { UserView } from "../users/users.schemas.ts";
import { userColumns } from "../users/users.service.ts";
import type { TokenPair } from "./auth.schemas.ts";
import {
	forgetOldLoginNetworks,
	LOGIN_WINDOW_MS,
	passwordAttempt,
	rememberLoginNetwork,
} from "./login-limits.ts";

/** An emailed link that is unknown, used, expired or tampered with (400: it is a body field, not a bearer). */
export const invalidLink = () =>
	new AppError("AUTH_INVALID_TOKEN", "This link is unknown, used or expired", "token", { status: 400 });

/** Verification links live 24 hours; a user may ask for one a minute. */
export const EMAIL_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
export const RESEND_INTERVAL_MS = 60 * 1000;
/** Claim links (registrations of a guest's address) an address receives an hour, from all networks. */
export const CLAIM_LINKS_PER_ADDRESS_PER_HOUR = 5;
/**
 * Two claims of one guest from different networks this close in time are ambiguous (their emails differ
 * only by a minute-precise time): following either applies neither.
 */
export const CLAIM_CONFLICT_WINDOW_MS = 15 * 60 * 1000;

/**
 * One round trip: the account and its verification link. An address listed in ADMIN_EMAILS registers as
 * a plain user: admin is granted only once the emailed link proves the address (`verifyEmail`), so nobody
 * can claim it by registering first.
 *
 * The address of a guest (a confirmed guest pre-booking) is a **claim**: the account is not touched; the
 * password and name go on the emailed link and take effect only when that link is followed. The guest
 * cannot log in until then. So whoever registers the address again (with another password) changes nothing
 * the mailbox owner's own link will switch on; the first link followed wins and spends the others. A claim
 * link goes out at most once a minute per guest and client network and five times an hour per guest (429):
 * nobody can flood the mailbox, and nobody elsewhere can keep the owner from getting a link of their own.
 * The email says when the registration was made, so the owner can tell their own link from somebody
 * else's; two claims too close to tell apart (`CLAIM_CONFLICT_WINDOW_MS`, different networks) apply
 * neither (`verifyEmail`).
 */
export async function registerUser(
	db: Db,
	input: { email: string; password: string; fullName: string | null; network: string },
): Promise<{ user: UserView; verificationToken: string; requestedAt: string }> {
	const passwordHash = await hashPassword(input.password);
	const token = newSecretToken();
	const now = new Date();
	const requestedAt = now.toISOString();
	// This network's claim links to this address in the last minute, and everyone's in the last hour.
	const recentClaimsFromHere = sql`SELECT created_at FROM email_tokens
		WHERE email = ${input.email} AND purpose = 'verify_email' AND network = ${input.network}
			AND created_at > ${new Date(now.getTime() - RESEND_INTERVAL_MS).toISOString()}`;
	const claimsThisHour = sql`SELECT created_at FROM email_tokens
		WHERE email = ${input.email} AND purpose = 'verify_email' AND claim_password_hash IS NOT NULL
			AND created_at > ${new Date(now.getTime() - 60 * 60 * 1000).toISOString()}`;
	const [created, issued, guest] = await batch(db, [
		db
			.insert(users)
			.values({ email: input.email, passwordHash, fullName: input.fullName, role: "user" })
			.onConflictDoNothing({ target: users.email })
			.returning(userColumns),
		// The new account's link (its hash has a fresh salt: only this request's row matches), or a guest's
		// claim link carrying the password and name.
		rawQuery<{ id: number }>(sql`INSERT INTO email_tokens (token_hash, purpose, user_id, email, network,
				created_at, expires_at, claim_password_hash, claim_full_name)
			SELECT ${await hashToken(token)}, 'verify_email', id, email, ${input.network}, ${requestedAt},
				${new Date(now.getTime() + EMAIL_TOKEN_TTL_MS).toISOString()},
				CASE WHEN is_guest = 1 THEN ${passwordHash} END, CASE WHEN is_guest = 1 THEN ${input.fullName} END
			FROM users WHERE email = ${input.email}
				AND (password_hash = ${passwordHash} OR (is_guest = 1 AND NOT EXISTS (${recentClaimsFromHere})
					AND (SELECT count(*) FROM (${claimsThisHour})) < ${CLAIM_LINKS_PER_ADDRESS_PER_HOUR}))
			RETURNING id`),
		db
			.select({
				...userColumns,
				lastClaimAt: sql<string | null>`(SELECT max(created_at) FROM (${recentClaimsFromHere}))`,
				claimsThisHour: sql<number>`(SELECT count(*) FROM (${claimsThisHour}))`,
				oldestClaimThisHour: sql<string | null>`(SELECT min(created_at) FROM (${claimsThisHour}))`,
			})
			.from(users)
			.where(and(eq(users.email, input.email), eq(users.isGuest, true))),
	]);
	const user = created[0];
	if (user) return { user, verificationToken: token, requestedAt };
	const claimed = guest[0];
	if (!claimed)
		throw new AppError("AUTH_EMAIL_CONFLICT", "An account with this email already exists", "email");
	if (issued.length === 0) {
		const capped = claimed.claimsThisHour >= CLAIM_LINKS_PER_ADDRESS_PER_HOUR;
		const since = capped ? claimed.oldestClaimThisHour : claimed.lastClaimAt;
		throw rateLimited(
			capped
				? "This address was registered too often in the last hour"
				: "This address was registered from here less than a minute ago",
			(since ? Date.parse(since) : now.getTime()) + (capped ? 60 * 60 * 1000 : RESEND_INTERVAL_MS),
			now.getTime(),
		);
	}
	// The account as the claim will make it once its link is followed.
	const { lastClaimAt: _, claimsThisHour: __, oldestClaimThisHour: ___, ...account } = claimed;
	return {
		user: { ...account, fullName: input.fullName, emailVerified: false },
		verificationToken: token,
		requestedAt,
	};
}

/**
 * One round trip: the link is spent (single use, 24 hours) and the address verified; a guest becomes an
 * ordinary account with the password and name its claim link carries, and an address listed in
 * ADMIN_EMAILS becomes admin — decided inside the UPDATE. The account's other verification links are spent
 * with it, so a second registration's link cannot later replace the password.
 */
export async function verifyEmail(
	db: Db,
	token: string,
	adminEmails: ReadonlySet<string>,
): Promise<UserView> {
	const now = new Date().toISOString();
	const tokenHash = await hashToken(token);
	const link = (column: SQL) =>
		sql`(SELECT ${column} FROM email_tokens WHERE token_hash = ${tokenHash} AND used_at = ${now})`;
	const claimed = sql`${users.isGuest} = 1 AND ${link(sql`claim_password_hash`)} IS NOT NULL`;
	// Another registration's claim on the same guest, from another network, made close enough in time that
	// the owner could not tell the two emails apart: then neither is applied (see registerUser).
	const rivalClaim = sql`${link(sql`claim_password_hash`)} IS NOT NULL AND EXISTS (SELECT 1 FROM email_tokens AS rival
		WHERE rival.user_id = ${link(sql`user_id`)} AND rival.purpose = 'verify_email'
			AND rival.token_hash <> ${tokenHash} AND rival.claim_password_hash IS NOT NULL
			AND (rival.used_at IS NULL OR rival.used_at = ${now}) AND rival.expires_at > ${now}
			AND rival.network <> ${link(sql`network`)}
			AND abs(julianday(rival.created_at) - julianday(${link(sql`created_at`)})) * 86400000 < ${CLAIM_CONFLICT_WINDOW_MS})`;
	const [, verified, , conflict] = await batch(db, [
		rawQuery(sql`UPDATE email_tokens SET used_at = ${now}
			WHERE token_hash = ${tokenHash} AND purpose = 'verify_email' AND used_at IS NULL AND expires_at > ${now}`),
		db
			.update(users)
			.set({
				emailVerified: true,
				isGuest: false,
				// SET expressions read the row as it was: `is_guest` is still the guest's.
				passwordHash: sql`CASE WHEN ${claimed} THEN ${link(sql`claim_password_hash`)} ELSE ${users.passwordHash} END`,
				fullName: sql`CASE WHEN ${claimed} THEN ${link(sql`claim_full_name`)} ELSE ${users.fullName} END`,
				role: sql`CASE WHEN ${users.email} IN (SELECT value FROM json_each(${JSON.stringify([...adminEmails])}))
					THEN 'admin' ELSE ${users.role} END`,
				updatedAt: now,
			})
			.where(and(eq(users.id, link(sql`user_id`)), sql`NOT (${claimed} AND ${rivalClaim})`))
			.returning(userColumns),
		// The account's other links are spent with this one — rival claims too, applied or not.
		rawQuery(sql`UPDATE email_tokens SET used_at = ${now}
			WHERE user_id = ${link(sql`user_id`)} AND purpose = 'verify_email' AND used_at IS NULL`),
		rawQuery<{ conflicted: number }>(sql`SELECT ${rivalClaim} AS conflicted`),
	]);
	const user = verified[0];
	if (user) return user;
	if (conflict[0]?.conflicted) {
		throw new AppError(
			"AUTH_INVALID_TOKEN",
			"This address was registered more than once at about the same time (perhaps by someone else), so no registration was applied: register again and follow the link of that email",
			"token",
			{ status: 400 },
		);
	}
	throw invalidLink();
}

/**
 * One round trip: a new verification link, unless the address is verified (409) or a link went out in the
 * last minute (429) — both decided inside the INSERT.
 */
export async function resendVerification(
	db: Db,
	userId: number,
): Promise<{ email: string; fullName: string | null; verificationToken: string }> {
	const token = newSecretToken();
	const now = new Date();
	const recent = new Date(now.getTime() - RESEND_INTERVAL_MS).toISOString();
	const [issued, state] = await batch(db, [
		rawQuery<{
			email: string;
		}>(sql`INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at, expires_at)
			SELECT ${await hashToken(token)}, 'verify_email', id, email, ${now.toISOString()},
				${new Date(now.getTime() + EMAIL_TOKEN_TTL_MS).toISOString()}
			FROM users WHERE id = ${userId} AND email_verified = 0
				AND NOT EXISTS (SELECT 1 FROM email_tokens
					WHERE user_id = ${userId} AND purpose = 'verify_email' AND created_at > ${recent})
			RETURNING email`),
		db
			.select({
				email: users.email,
				fullName: users.fullName,
				emailVerified: users.emailVerified,
				lastSent: sql<string | null>`(SELECT max(created_at) FROM email_tokens
					WHERE user_id = ${userId} AND purpose = 'verify_email')`,
			})
			.from(users)
			.where(eq(users.id, userId)),
	]);
	const user = state[0];
	if (!user || user.emailVerified) {
		throw new AppError("EMAIL_ALREADY_VERIFIED", "This email address is already verified");
	}
	if (issued.length === 0) {
		const last = user.lastSent ? Date.parse(user.lastSent) : now.getTime();
		throw rateLimited(
			"A verification email was sent less than a minute ago",
			last + RESEND_INTERVAL_MS,
			now.getTime(),
		);
	}
	return { email: user.email, fullName: user.fullName, verificationToken: token };
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
 * Round trip 1 reserves an attempt slot (`passwordAttempt`) and reads the user; a correct password clears
 * the slots of this email and network, stores the new refresh token and remembers the network (round trip 2).
 */
export async function logIn(
	db: Db,
	credentials: { email: string; password: string; network: string },
	jwtSecret: string,
): Promise<TokenPair> {
	const { email, password, network } = credentials;
	const now = new Date();
	const { found } = await batch(db, {
		// Throws 429 when the attempt is over a limit (the group's reader).
		attempt: passwordAttempt(email, network, now),
		found: db
			.select({
				id: users.id,
				passwordHash: users.passwordHash,
				isActive: users.isActive,
				isGuest: users.isGuest,
				tokenVersion: users.tokenVersion,
			})
			.from(users)
			.where(eq(users.email, email)),
	});

	const account = found[0];
	// One key derivation whatever the account: unknown, passwordless guest or wrong password alike.
	const passwordMatches = await verifyPassword(password, account?.passwordHash ?? null);
	// A guest account logs in only once its registration is verified (see `registerUser`).
	if (!account || !passwordMatches || account.isGuest) {
		throw new AppError("AUTH_INVALID_CREDENTIALS", "Email or password is incorrect");
	}
	if (!account.isActive) throw new AppError("AUTH_ACCOUNT_DEACTIVATED", "This account is deactivated");

	const refreshToken = newSecretToken();
	const known = rememberLoginNetwork(db, {
		userId: account.id,
		network,
		tokenVersion: account.tokenVersion,
		at: now,
	});
	await db.batch([
		db.delete(loginAttempts).where(and(eq(loginAttempts.email, email), eq(loginAttempts.network, network))),
		db.insert(refreshTokens).values({
			userId: account.id,
			familyId: crypto.randomUUID(),
			tokenHash: await hashToken(refreshToken),
			expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_MS).toISOString(),
			createdAt: now.toISOString(),
		}),
		...(known ? [known] : []),
	]);
	return tokenPair({ userId: account.id, tokenVersion: account.tokenVersion }, refreshToken, jwtSecret);
}

/** One round trip: reuse detection, the conditional spend, the successor and its owner, in one batch. */
export async function rotateRefreshToken(db: Db, presented: string, jwtSecret: string): Promise<TokenPair> {
	const now = new Date().toISOString();
	const presentedHash = await hashToken(presented);
	const successor = newSecretToken();
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
 * Housekeeping (cron): login attempts outside the window, refresh tokens past their expiry, networks not
 * logged in from for 30 days and emailed links past their expiry no longer decide anything, and the links
 * carry an address and a client network that must not stay longer than they serve (API.md, Privacy). The
 * email throttles count links of the last day at most, and a link lives 24 hours. Expired refresh tokens are
 * the only ones removed, so reuse detection keeps every live family.
 */
export async function purgeExpiredAuthRecords(db: Db, now: Date): Promise<void> {
	const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
	await db.batch([
		db.delete(loginAttempts).where(lte(loginAttempts.attemptedAt, windowStart)),
		db.delete(refreshTokens).where(lte(refreshTokens.expiresAt, now.toISOString())),
		forgetOldLoginNetworks(db, now),
		db.delete(emailTokens).where(lte(emailTokens.expiresAt, now.toISOString())),
	]);
}
