/**
 * Email-first accounts — sign-up and password reset through emailed links — login (limited by the failure
 * ledger of lib/login-limits.ts), refresh-token rotation and logout.
 *
 * Nobody can squat an address: `POST /auth/register` makes no account, it only emails the address; the
 * account exists once the link's holder — the mailbox owner — chose the password (`completeSignUp`).
 *
 * Refresh tokens: every login starts a family. A refresh spends its token and issues the successor in
 * one batch, decided by one conditional UPDATE (`used_at IS NULL`), so of two concurrent refreshes of the
 * same token exactly one wins. A spent token presented again means it leaked (or a client raced itself):
 * the whole family is revoked, as the contract requires.
 */
import { and, eq, isNull, lte, type SQL, sql } from "drizzle-orm";
import { emailTokens, loginAttempts, refreshTokens, users } from "../../db/schema.ts";
import { batch, noStatement, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import {
	forgetOldLoginNetworks,
	LOGIN_WINDOW_MS,
	passwordAttempt,
	rememberLoginNetwork,
} from "../../lib/login-limits.ts";
import { verifyPassword } from "../../lib/password.ts";
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

/** Why a live sign-up link made no account: its address became a verified account meanwhile. */
export const COMPLETED_MEANWHILE =
	"This address has completed its sign-up meanwhile: sign in, or reset the password";

/** An emailed link that is unknown, used or expired (400: it is a body field, not a bearer). */
const invalidLink = (detail = "This link is unknown, used or expired") =>
	new AppError("AUTH_INVALID_TOKEN", detail, "token", { status: 400 });

const HOUR_MS = 60 * 60 * 1000;
/** A sign-up link lives 24 hours; a reset link (the "you already have an account" note's too) 1 hour. */
const SIGN_UP_LINK_TTL_MS = 24 * HOUR_MS;
const RESET_LINK_TTL_MS = HOUR_MS;
/**
 * Emails to one address, whoever asks (API.md, Auth): at most 3 an hour and 10 a day of each kind —
 * sign-up (the note included) and reset. Beyond, the request still answers 202 and nothing is sent.
 */
const EMAILS_PER_ADDRESS_PER_HOUR = 3;
const EMAILS_PER_ADDRESS_PER_DAY = 10;

/** The link purposes (db/schema.ts `EMAIL_TOKEN_PURPOSES`) of each kind of email the caps count. */
const SIGN_UP_EMAILS = ["sign_up", "account_exists"] as const;
const RESET_EMAILS = ["reset_password"] as const;
/** The links that reset a password: the reset email's and the note's. */
const RESET_LINKS = ["reset_password", "account_exists"] as const;

const inList = (values: readonly string[]) =>
	sql.join(
		values.map((value) => sql`${value}`),
		sql`, `,
	);

/**
 * True inside SQL while `email` may still receive an email of this kind: the links sent to it in the
 * last hour and day are the ledger (they stay a day, see `purgeExpiredAuthRecords`). Evaluated inside the
 * link's INSERT, so parallel requests cannot overshoot it.
 */
function underAddressCaps(email: string, kind: readonly string[], now: Date) {
	const sentSince = (ms: number) => sql`(SELECT count(*) FROM email_tokens
		WHERE email = ${email} AND purpose IN (${inList(kind)})
			AND created_at > ${new Date(now.getTime() - ms).toISOString()})`;
	return sql`${sentSince(HOUR_MS)} < ${EMAILS_PER_ADDRESS_PER_HOUR}
		AND ${sentSince(24 * HOUR_MS)} < ${EMAILS_PER_ADDRESS_PER_DAY}`;
}

/** `role` as ADMIN_EMAILS makes it for a verified `email` (SQL): admin when listed, else `otherwise`. */
const adminIfListed = (email: SQL, adminEmails: ReadonlySet<string>, otherwise: SQL) =>
	sql`CASE WHEN ${email} IN (SELECT value FROM json_each(${JSON.stringify([...adminEmails])}))
		THEN 'admin' ELSE ${otherwise} END`;

/** An emailed link to send: its token, what it does, until when, and who reads it. */
export interface EmailedLink {
	token: string;
	purpose: "sign_up" | "account_exists" | "reset_password";
	expiresAt: string;
	/** The language the link was issued in (email_tokens.locale) and the account's zone (UTC without one). */
	reader: { locale: string; timeZone: string };
}

/** The reader of a link row just inserted (RETURNING): its language, its account's zone. */
const readerOfLink = sql`locale, expires_at,
	coalesce((SELECT time_zone FROM users WHERE users.id = email_tokens.user_id),
		(SELECT time_zone FROM users WHERE users.email = email_tokens.email AND users.is_guest = 1), 'UTC') AS time_zone`;
interface IssuedLink {
	locale: string;
	expires_at: string;
	time_zone: string;
}
const emailedLink = (token: string, purpose: EmailedLink["purpose"], row: IssuedLink): EmailedLink => ({
	token,
	purpose,
	expiresAt: row.expires_at,
	reader: { locale: row.locale, timeZone: row.time_zone },
});

/**
 * `POST /auth/register`, one round trip: no account is made here. The address gets a link to finish
 * signing up — or, when it already has a (verified) account, a note saying so with a link to reset the
 * password — unless it has had its sign-up emails for now (`underAddressCaps`). A guest's address and a
 * legacy unverified account's get a sign-up link: completing it takes the account over. The statement is
 * the same whatever the address, and so is the answer: `null` only when the address is capped.
 */
export async function requestSignUp(
	db: Db,
	/** `locale`: the asking request's language, for an address without an account (nor a guest one). */
	request: { email: string; network: string; locale: string },
): Promise<EmailedLink | null> {
	const token = newSecretToken();
	const now = new Date();
	const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
	const { issued } = await batch(db, {
		issued: rawQuery<IssuedLink & { purpose: "sign_up" | "account_exists" }>(sql`INSERT INTO email_tokens
				(token_hash, purpose, user_id, email, network, locale, created_at, expires_at)
			SELECT ${await hashToken(token)}, CASE WHEN registered IS NULL THEN 'sign_up' ELSE 'account_exists' END,
				registered, ${request.email}, ${request.network},
				coalesce((SELECT locale FROM users WHERE id = coalesce(registered, guest)), ${request.locale}),
				${now.toISOString()},
				CASE WHEN registered IS NULL THEN ${at(SIGN_UP_LINK_TTL_MS)} ELSE ${at(RESET_LINK_TTL_MS)} END
			FROM (SELECT (SELECT id FROM users WHERE email = ${request.email} AND is_guest = 0 AND email_verified = 1)
				AS registered,
				-- A guest's preferences are kept on the guest account (API.md): its emails keep its language.
				(SELECT id FROM users WHERE email = ${request.email} AND is_guest = 1) AS guest)
			WHERE ${underAddressCaps(request.email, SIGN_UP_EMAILS, now)}
			RETURNING purpose, ${readerOfLink}`),
	});
	const link = issued[0];
	return link ? emailedLink(token, link.purpose, link) : null;
}

/** A new login session: the refresh token's hash and family (the caller keeps the token itself). */
export interface NewSession {
	refreshTokenHash: string;
	familyId: string;
	expiresAt: string;
}

/**
 * `POST /auth/register/complete` (and the sign-up page), one round trip: the account exists from here,
 * verified, with the password chosen (`passwordHash`, hashed by the caller with a fresh salt, so it also
 * marks the row this batch wrote). The account taken is the address's guest account (it keeps its
 * pre-bookings), a legacy unverified one (replaced: new password and name, every token ended), or a new
 * one; ADMIN_EMAILS makes it admin. A verified account of the address means it was completed meanwhile
 * (another sign-up link, or a reset): nothing changes, 400.
 *
 * Every statement acts only on a link still live (unused, unexpired), and the last one spends it whatever
 * the outcome; the one before spends the address's other sign-up links when this one made the account.
 * Batches do not interleave, so of two completions for one address — one link twice, or two links — the
 * first makes the account and the second finds its link spent (or the account verified): 400.
 */
export async function completeSignUp(
	db: Db,
	input: {
		token: string;
		passwordHash: string;
		fullName: string | null;
		adminEmails: ReadonlySet<string>;
		/**
		 * For a new account: the best language of the completing request's `Accept-Language`, or null when
		 * it names none (then the language the link was issued in).
		 */
		locale: string | null;
		/** Start a login session (the JSON route); the page signs nobody in. */
		session: NewSession | null;
	},
): Promise<{ user: UserView; tokenVersion: number }> {
	const now = new Date().toISOString();
	const tokenHash = await hashToken(input.token);
	const live = sql`SELECT email, locale FROM email_tokens
		WHERE token_hash = ${tokenHash} AND purpose = 'sign_up' AND used_at IS NULL AND expires_at > ${now}`;
	const address = sql`(SELECT email FROM (${live}))`;
	// An account a sign-up may take: a guest's or a legacy unverified one, active and not erased.
	const takeable = (row: string) =>
		sql.raw(`${row}.is_active = 1 AND ${row}.erased_at IS NULL
		AND (${row}.is_guest = 1 OR ${row}.email_verified = 0)`);
	const legacyAccount = sql`SELECT id FROM users AS u
		WHERE u.email = ${address} AND u.is_guest = 0 AND ${takeable("u")}`;
	// The account this batch wrote: nobody else's row has this hash (a fresh salt).
	const made = sql`${users.email} = ${address} AND ${users.passwordHash} = ${input.passwordHash}`;
	const { account, diagnosis } = await batch(db, {
		// Before the takeover, while the account is still what it was: what a legacy account's holder left of
		// their sign-ins goes — sessions, the networks they signed in from, the links they asked for — so the
		// address's owner neither inherits nor sees them (GET /users/me/export).
		legacySessions: rawQuery(sql`DELETE FROM refresh_tokens WHERE user_id IN (${legacyAccount})`),
		legacyNetworks: rawQuery(sql`DELETE FROM login_networks WHERE user_id IN (${legacyAccount})`),
		legacyLinks: rawQuery(
			sql`DELETE FROM email_tokens WHERE user_id IN (${legacyAccount}) AND token_hash <> ${tokenHash}`,
		),
		taken: rawQuery(sql`INSERT INTO users
				(email, password_hash, full_name, role, email_verified, is_guest, locale, created_at, updated_at)
			SELECT email, ${input.passwordHash}, ${input.fullName},
				${adminIfListed(sql`email`, input.adminEmails, sql`'user'`)}, 1, 0,
				coalesce(${input.locale}, locale, 'en'), ${now}, ${now}
			FROM (${live}) WHERE true
			ON CONFLICT (email) DO UPDATE SET
				password_hash = excluded.password_hash, full_name = excluded.full_name,
				role = CASE WHEN excluded.role = 'admin' THEN 'admin' ELSE users.role END,
				email_verified = 1, is_guest = 0, token_version = users.token_version + 1,
				updated_at = excluded.updated_at
			WHERE ${takeable("users")}`),
		session: input.session
			? rawQuery(sql`INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, created_at)
				SELECT id, ${input.session.familyId}, ${input.session.refreshTokenHash}, ${input.session.expiresAt},
					${now}
				FROM users WHERE ${made}`)
			: noStatement(),
		account: db
			.select({ ...userColumns, tokenVersion: users.tokenVersion })
			.from(users)
			.where(made),
		// Why nothing was made: the link, or a deactivated account of the address.
		diagnosis: rawQuery<{ live: number; deactivated: number | null }>(sql`SELECT
			EXISTS (${live}) AS live,
			(SELECT is_active = 0 FROM users AS u WHERE u.email = ${address}
				AND u.erased_at IS NULL AND (u.is_guest = 1 OR u.email_verified = 0)) AS deactivated`),
		// The first completed spends the others (before this link is spent: `address` still reads it).
		otherLinks: rawQuery(sql`UPDATE email_tokens SET used_at = ${now}
			WHERE email = ${address} AND purpose = 'sign_up' AND used_at IS NULL AND token_hash <> ${tokenHash}
				AND EXISTS (SELECT 1 FROM users WHERE ${made})`),
		spent: rawQuery(sql`UPDATE email_tokens SET used_at = ${now}
			WHERE token_hash = ${tokenHash} AND purpose = 'sign_up' AND used_at IS NULL`),
	});
	const row = account[0];
	if (row) {
		const { tokenVersion, ...user } = row;
		return { user, tokenVersion };
	}
	if (diagnosis[0]?.live && diagnosis[0].deactivated) {
		throw new AppError("AUTH_ACCOUNT_DEACTIVATED", "The account of this address is deactivated");
	}
	throw invalidLink(diagnosis[0]?.live ? COMPLETED_MEANWHILE : undefined);
}

/**
 * `POST /auth/password/forgot`, one round trip: a reset link for the address's account with a password
 * (not a guest's), unless the address has had its reset emails for now. The statement is the same whatever
 * the address; `null` means nothing is to be sent, and the caller answers the same 202 either way.
 */
export async function requestPasswordReset(
	db: Db,
	request: { email: string; network: string },
): Promise<EmailedLink | null> {
	const token = newSecretToken();
	const now = new Date();
	const { issued } = await batch(db, {
		// In the account's language (its preferences).
		issued: rawQuery<IssuedLink>(sql`INSERT INTO email_tokens
				(token_hash, purpose, user_id, email, network, locale, created_at, expires_at)
			SELECT ${await hashToken(token)}, 'reset_password', id, email, ${request.network}, locale,
				${now.toISOString()}, ${new Date(now.getTime() + RESET_LINK_TTL_MS).toISOString()}
			FROM users
			WHERE email = ${request.email} AND is_guest = 0 AND erased_at IS NULL
				AND ${underAddressCaps(request.email, RESET_EMAILS, now)}
			RETURNING ${readerOfLink}`),
	});
	const link = issued[0];
	return link ? emailedLink(token, "reset_password", link) : null;
}

/**
 * `POST /auth/password/reset` (and the reset page), one round trip: the new password is set and every
 * session and access token of the account ends (token version bumped — which also forgets its known login
 * networks — and refresh tokens revoked). The mailbox proved the address, so a legacy unverified account
 * is verified (and ADMIN_EMAILS applies), and the address's login failures no longer count. As with a
 * sign-up link, every statement acts only on a live link and the last spends it; the account's other reset
 * links are spent with it.
 */
export async function resetPassword(
	db: Db,
	input: { token: string; passwordHash: string; adminEmails: ReadonlySet<string> },
): Promise<void> {
	const now = new Date().toISOString();
	const tokenHash = await hashToken(input.token);
	const live = sql`SELECT user_id FROM email_tokens WHERE token_hash = ${tokenHash}
		AND purpose IN (${inList(RESET_LINKS)}) AND used_at IS NULL AND expires_at > ${now}`;
	const owner = sql`(SELECT user_id FROM (${live}))`;
	const changedHere = sql`EXISTS (SELECT 1 FROM users WHERE id = ${owner} AND password_hash = ${input.passwordHash})`;
	const { changed } = await batch(db, {
		changed: db
			.update(users)
			.set({
				passwordHash: input.passwordHash,
				emailVerified: true,
				role: adminIfListed(sql`${users.email}`, input.adminEmails, sql`${users.role}`),
				tokenVersion: sql`${users.tokenVersion} + 1`,
				updatedAt: now,
			})
			.where(and(sql`${users.id} = ${owner}`, isNull(users.erasedAt), eq(users.isGuest, false)))
			.returning({ id: users.id }),
		// Every session ends, and what sign-ins left goes with them — the sessions and the networks they came
		// from — so an account whose address was taken back keeps none of its previous holder's traces
		// (GET /users/me/export), as a sign-up's takeover does.
		sessions: rawQuery(sql`DELETE FROM refresh_tokens WHERE user_id = ${owner} AND ${changedHere}`),
		networks: rawQuery(sql`DELETE FROM login_networks WHERE user_id = ${owner} AND ${changedHere}`),
		failures: rawQuery(sql`DELETE FROM login_attempts
			WHERE email = (SELECT email FROM users WHERE id = ${owner}) AND ${changedHere}`),
		otherLinks: rawQuery(sql`UPDATE email_tokens SET used_at = ${now}
			WHERE user_id = ${owner} AND purpose IN (${inList(RESET_LINKS)}) AND used_at IS NULL
				AND token_hash <> ${tokenHash}`),
		spent: rawQuery(sql`UPDATE email_tokens SET used_at = ${now}
			WHERE token_hash = ${tokenHash} AND purpose IN (${inList(RESET_LINKS)}) AND used_at IS NULL`),
	});
	if (changed.length === 0) throw invalidLink();
}

/**
 * The link a page was opened with, or null when it is unknown (never issued, or purged after it expired):
 * the language it was issued in (the page speaks it, a refusal too), whether it can still be used (unused,
 * not expired), and the address it is for — only while usable (the page shows it). A read, nothing changes.
 */
export async function addressOfLink(
	db: Db,
	token: string,
	kind: "sign_up" | "reset",
): Promise<{ locale: string | null; usable: { email: string } | null } | null> {
	const now = new Date().toISOString();
	const purposes = kind === "sign_up" ? ["sign_up"] : RESET_LINKS;
	const [link] = await db
		.select({
			email: emailTokens.email,
			locale: emailTokens.locale,
			usable: sql<number>`${emailTokens.usedAt} IS NULL AND ${emailTokens.expiresAt} > ${now}`,
		})
		.from(emailTokens)
		.where(
			and(
				eq(emailTokens.tokenHash, await hashToken(token)),
				sql`${emailTokens.purpose} IN (${inList(purposes)})`,
			),
		);
	if (!link) return null;
	return { locale: link.locale, usable: link.usable ? { email: link.email } : null };
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
	// A guest account has no password: it logs in once a sign-up of its address is completed.
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

	const { owner } = await batch(db, {
		// A spent token presented again: revoke its family (the successor included).
		replayRevoked: rawQuery(sql`
			UPDATE refresh_tokens SET revoked_at = ${now}
			WHERE revoked_at IS NULL AND family_id = (
				SELECT family_id FROM refresh_tokens WHERE token_hash = ${presentedHash} AND used_at IS NOT NULL)`),
		// The decision: only one request can move used_at from NULL, and only for an active user.
		spent: rawQuery(sql`
			UPDATE refresh_tokens SET used_at = ${now}, replaced_by_hash = ${successorHash}
			WHERE token_hash = ${presentedHash} AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ${now}
				AND user_id IN (SELECT id FROM users WHERE is_active = 1)`),
		// Issued only if the UPDATE above was this request's (its successor hash is unique).
		successor: rawQuery(sql`
			INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, created_at)
			SELECT user_id, family_id, ${successorHash}, ${expiresAt}, ${now} FROM refresh_tokens
			WHERE token_hash = ${presentedHash} AND replaced_by_hash = ${successorHash}`),
		owner: db
			.select({ userId: users.id, tokenVersion: users.tokenVersion })
			.from(refreshTokens)
			.innerJoin(users, eq(users.id, refreshTokens.userId))
			.where(eq(refreshTokens.tokenHash, successorHash)),
	});
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
 * per-address caps count the links of the last day, so an expired link goes once it is a day old (a
 * sign-up or guest link expires then; a reset link, after an hour, stays as a count until then). Expired
 * refresh tokens are the only ones removed, so reuse detection keeps every live family.
 */
export async function purgeExpiredAuthRecords(db: Db, now: Date): Promise<void> {
	const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
	await db.batch([
		db.delete(loginAttempts).where(lte(loginAttempts.attemptedAt, windowStart)),
		db.delete(refreshTokens).where(lte(refreshTokens.expiresAt, now.toISOString())),
		forgetOldLoginNetworks(db, now),
		db
			.delete(emailTokens)
			.where(
				and(
					lte(emailTokens.expiresAt, now.toISOString()),
					lte(emailTokens.createdAt, new Date(now.getTime() - 24 * HOUR_MS).toISOString()),
				),
			),
	]);
}
