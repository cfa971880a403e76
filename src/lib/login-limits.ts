/**
 * The login-failure ledger (API.md, "Login limits"), shared by every place that checks a password: login
 * (features/auth) and account erasure (features/users). In lib/, below both: auth builds on the users
 * feature, so users must not import from auth.
 */
import { lte, type SQL, sql } from "drizzle-orm";
import { loginNetworks } from "../db/schema.ts";
import { namedGroup, rawQuery } from "./batch.ts";
import type { Db } from "./db.ts";
import { rateLimited } from "./errors.ts";

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILED_LOGINS_PER_NETWORK = 10;
const MAX_FAILED_LOGINS_PER_EMAIL = 100;
/** A network the account logged in from within this time is exempt from the per-email limit. */
const KNOWN_NETWORK_MS = 30 * 24 * 60 * 60 * 1000;

/** The password-attempt ledger of one email and network, read when a slot is refused. */
interface LedgerState {
	for_email: number;
	oldest_for_email: string | null;
	from_network: number;
	oldest_from_network: string | null;
	known_network: number;
}

/** A password attempt that got its slot: its id, which a correct password deletes (no failure recorded). */
export interface ReservedAttempt {
	slotId: number;
}

/**
 * The statements that reserve a password attempt for `email` (a value or a SQL expression) from `network`,
 * as a group for the batch that also reads the stored hash: `batch(db, { attempt: passwordAttempt(…),
 * account: … })`. Its result is the reserved slot; a refused attempt throws 429 with Retry-After (when every
 * limit hit has a free slot again). The limits are conditions of the INSERT, so concurrent
 * guesses cannot overshoot them: at most 10 failures per (email, client network) — a stranger elsewhere
 * cannot lock the user out of their own network — and 100 per email from all networks, which keeps guessing
 * bounded, except from a network the account logged in from within 30 days (`rememberLoginNetwork`): there
 * only the per-network limit applies, so strangers with many networks cannot lock the owner out of the
 * networks the owner really uses. A wrong password leaves its slot as a recorded failure. Every place that checks a password
 * (login, account erasure) reserves through here, so a stolen access token is no unlimited guessing oracle.
 */
export function passwordAttempt(email: string | SQL, network: string, now: Date) {
	const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
	const fromNetwork = sql`email = ${email} AND network = ${network}`;
	// Known under the account's current token version: whatever ended every token forgot the network too.
	const knownNetwork = sql`EXISTS (SELECT 1 FROM login_networks AS known
		JOIN users ON users.id = known.user_id AND users.token_version = known.token_version
		WHERE users.email = ${email} AND known.network = ${network}
			AND known.last_login_at > ${new Date(now.getTime() - KNOWN_NETWORK_MS).toISOString()})`;
	const parts = {
		outsideWindow: rawQuery(
			sql`DELETE FROM login_attempts WHERE email = ${email} AND attempted_at <= ${windowStart}`,
		),
		reserved: rawQuery<{ id: number }>(sql`INSERT INTO login_attempts (email, network, attempted_at)
			SELECT ${email}, ${network}, ${now.toISOString()}
			WHERE (SELECT count(*) FROM login_attempts WHERE ${fromNetwork}) < ${MAX_FAILED_LOGINS_PER_NETWORK}
				AND ((SELECT count(*) FROM login_attempts WHERE email = ${email}) < ${MAX_FAILED_LOGINS_PER_EMAIL}
					OR ${knownNetwork})
			RETURNING id`),
		// When refused: each limit's count and oldest failure say when it has a free slot again.
		ledger: rawQuery<LedgerState>(sql`SELECT
				(SELECT count(*) FROM login_attempts WHERE email = ${email}) AS for_email,
				(SELECT min(attempted_at) FROM login_attempts WHERE email = ${email}) AS oldest_for_email,
				(SELECT count(*) FROM login_attempts WHERE ${fromNetwork}) AS from_network,
				(SELECT min(attempted_at) FROM login_attempts WHERE ${fromNetwork}) AS oldest_from_network,
				${knownNetwork} AS known_network`),
	};
	/** 429 with Retry-After: when every limit hit has a free slot again. */
	const refused = (state: LedgerState | undefined) => {
		const freeAt = (oldest: string | null | undefined) =>
			(oldest ? Date.parse(oldest) : now.getTime()) + LOGIN_WINDOW_MS;
		const waits = [now.getTime()];
		if (state && state.for_email >= MAX_FAILED_LOGINS_PER_EMAIL && !state.known_network)
			waits.push(freeAt(state.oldest_for_email));
		if (state && state.from_network >= MAX_FAILED_LOGINS_PER_NETWORK)
			waits.push(freeAt(state.oldest_from_network));
		return rateLimited(
			"Too many failed password attempts; try again later",
			Math.max(...waits),
			now.getTime(),
		);
	};
	const attempt = namedGroup(parts);
	return {
		...attempt,
		read: (results: readonly unknown[]): ReservedAttempt => {
			const { reserved, ledger } = attempt.read(results);
			const slot = reserved[0];
			if (!slot) throw refused(ledger[0]);
			return { slotId: slot.id };
		},
	};
}

/**
 * The statement a successful login adds to its batch: `network` becomes (or stays) one the account is known
 * to log in from, under its current token version. A request without a client address records nothing.
 */
export function rememberLoginNetwork(
	db: Db,
	login: { userId: number; network: string; tokenVersion: number; at: Date },
) {
	const row = {
		userId: login.userId,
		network: login.network,
		tokenVersion: login.tokenVersion,
		lastLoginAt: login.at.toISOString(),
	};
	return login.network === ""
		? null
		: db
				.insert(loginNetworks)
				.values(row)
				.onConflictDoUpdate({
					target: [loginNetworks.userId, loginNetworks.network],
					set: { tokenVersion: row.tokenVersion, lastLoginAt: row.lastLoginAt },
				});
}

/** Cron: networks not logged in from for 30 days are no longer known. */
export const forgetOldLoginNetworks = (db: Db, now: Date) =>
	db
		.delete(loginNetworks)
		.where(lte(loginNetworks.lastLoginAt, new Date(now.getTime() - KNOWN_NETWORK_MS).toISOString()));
