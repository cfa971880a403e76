/**
 * The login-failure ledger (API.md, "Login limits"), shared by every place that checks a password: login
 * and account erasure. Its own module, so the users feature can use it without importing the auth service
 * (which reads user columns from the users feature).
 */
import { type SQL, sql } from "drizzle-orm";
import { rawQuery } from "../../lib/db.ts";
import { rateLimited } from "../../lib/errors.ts";

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILED_LOGINS_PER_NETWORK = 10;
export const MAX_FAILED_LOGINS_PER_EMAIL = 100;

/** The password-attempt ledger of one email and network, read when a slot is refused. */
interface LedgerState {
	for_email: number;
	oldest_for_email: string | null;
	from_network: number;
	oldest_from_network: string | null;
}

/**
 * The statements that reserve a password attempt for `email` (a value or a SQL expression) from `network`,
 * for the batch that also reads the stored hash. The limits are conditions of the INSERT, so concurrent
 * guesses cannot overshoot them: at most 10 failures per (email, client network) — a stranger elsewhere
 * cannot lock the user out of their own network — and 100 per email from all networks, which keeps guessing
 * bounded. A wrong password leaves its slot as a recorded failure. Every place that checks a password
 * (login, account erasure) reserves through here, so a stolen access token is no unlimited guessing oracle.
 */
export function passwordAttempt(email: string | SQL, network: string, now: Date) {
	const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
	const fromNetwork = sql`email = ${email} AND network = ${network}`;
	const statements = [
		rawQuery(sql`DELETE FROM login_attempts WHERE email = ${email} AND attempted_at <= ${windowStart}`),
		rawQuery<{ id: number }>(sql`INSERT INTO login_attempts (email, network, attempted_at)
			SELECT ${email}, ${network}, ${now.toISOString()}
			WHERE (SELECT count(*) FROM login_attempts WHERE ${fromNetwork}) < ${MAX_FAILED_LOGINS_PER_NETWORK}
				AND (SELECT count(*) FROM login_attempts WHERE email = ${email}) < ${MAX_FAILED_LOGINS_PER_EMAIL}
			RETURNING id`),
		// When refused: each limit's count and oldest failure say when it has a free slot again.
		rawQuery<LedgerState>(sql`SELECT
				(SELECT count(*) FROM login_attempts WHERE email = ${email}) AS for_email,
				(SELECT min(attempted_at) FROM login_attempts WHERE email = ${email}) AS oldest_for_email,
				(SELECT count(*) FROM login_attempts WHERE ${fromNetwork}) AS from_network,
				(SELECT min(attempted_at) FROM login_attempts WHERE ${fromNetwork}) AS oldest_from_network`),
	] as const;
	/** Throws 429 with Retry-After (when every limit hit has a free slot) if the INSERT reserved no slot. */
	const ensureReserved = (reserved: { id: number }[], ledger: LedgerState[]) => {
		if (reserved.length > 0) return;
		const state = ledger[0];
		const freeAt = (oldest: string | null | undefined) =>
			(oldest ? Date.parse(oldest) : now.getTime()) + LOGIN_WINDOW_MS;
		const waits = [now.getTime()];
		if (state && state.for_email >= MAX_FAILED_LOGINS_PER_EMAIL) waits.push(freeAt(state.oldest_for_email));
		if (state && state.from_network >= MAX_FAILED_LOGINS_PER_NETWORK)
			waits.push(freeAt(state.oldest_from_network));
		throw rateLimited(
			"Too many failed password attempts; try again later",
			Math.max(...waits),
			now.getTime(),
		);
	};
	return { statements, ensureReserved };
}
