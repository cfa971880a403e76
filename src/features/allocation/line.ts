/**
 * The line of a book and who in it the engine may serve (API.md, Pre-bookings rules 4 and 11).
 *
 * The line is the book's waiting pre-bookings in `created_at`, `id` order (idx_pre_bookings_book_waiting_line,
 * which carries `paused_until` and `user_id`, so walking it never reads the table's rows). A member is
 * **passed over** — it keeps its place, and `on_hold_reason` says why — while it is paused or, except under
 * `notify_all`, while its reader cannot be told: address unverified, restock emails off, account deactivated.
 * `notify_all` still notifies readers who cannot be told (the email pipeline records them `skipped`), but
 * never a paused one.
 */
import { type SQL, sql } from "drizzle-orm";

/** Why a waiting pre-booking is passed over, in the contract's order; the first that applies is shown. */
export const ON_HOLD_REASONS = ["paused", "email_unverified", "emails_off", "account_deactivated"] as const;
export type OnHoldReason = (typeof ON_HOLD_REASONS)[number];

/** Column references of a pre-booking row, its reader and its book, under the aliases a statement uses. */
export interface LineRow {
	prebook: SQL;
	user: SQL;
	book: SQL;
}

export const aliases = (prebook: string, user: string, book: string): LineRow => ({
	prebook: sql.raw(prebook),
	user: sql.raw(user),
	book: sql.raw(book),
});

/** The pause is in force at `now` (it ends by itself at `paused_until`). */
const paused = (row: LineRow, now: string) => sql`coalesce(${row.prebook}.paused_until > ${now}, 0)`;

/** The reader can be told (rule 4): verified address, restock emails on, active account. */
const reachable = (row: LineRow) =>
	sql`(${row.user}.email_verified = 1 AND ${row.user}.restock_emails = 1 AND ${row.user}.is_active = 1)`;

/**
 * `on_hold_reason` of a waiting pre-booking as SQL: NULL when the engine would serve it now. Needs the
 * pre-booking's row, its reader's and its book's (for the policy).
 */
export const onHoldReason = (row: LineRow, now: string) => sql<OnHoldReason | null>`CASE
	WHEN ${row.prebook}.status <> 'waiting' THEN NULL
	WHEN ${paused(row, now)} THEN 'paused'
	WHEN ${row.book}.allocation = 'notify_all' THEN NULL
	WHEN ${row.user}.email_verified = 0 THEN 'email_unverified'
	WHEN ${row.user}.restock_emails = 0 THEN 'emails_off'
	WHEN ${row.user}.is_active = 0 THEN 'account_deactivated'
	END`;

/** A waiting member the engine serves now under its book's policy (`onHoldReason` is NULL). */
export const servable = (row: LineRow, now: string) =>
	sql`(NOT ${paused(row, now)} AND (${row.book}.allocation = 'notify_all' OR ${reachable(row)}))`;

/**
 * The members ahead of a waiting pre-booking in its line, as JSON `{active, passed_over}`: those the
 * engine serves now and those it passes over. `position` is `active + 1` for a member not passed over
 * (not on a lottery book, where a draw has no order). Counted over the line index, one users seek per
 * member ahead; NULL when not waiting.
 */
export const aheadInLine = (row: LineRow, now: string) => {
	const ahead = { prebook: sql.raw("ahead_p"), user: sql.raw("ahead_u"), book: row.book };
	return sql<string | null>`CASE WHEN ${row.prebook}.status = 'waiting' THEN (
		SELECT json_object('active', coalesce(sum(${servable(ahead, now)}), 0),
			'passed_over', coalesce(sum(NOT ${servable(ahead, now)}), 0))
		FROM pre_bookings AS ahead_p JOIN users AS ahead_u ON ahead_u.id = ahead_p.user_id
		WHERE ahead_p.book_id = ${row.prebook}.book_id AND ahead_p.status = 'waiting'
			AND (ahead_p.created_at, ahead_p.id) < (${row.prebook}.created_at, ${row.prebook}.id)) END`;
};
