/**
 * The line of a book and who in it the engine may serve (API.md, Pre-bookings rules 4 and 11).
 *
 * The line of a book (an edition) is its own waiting pre-bookings plus the waiting work pre-bookings of its
 * work that accept its format, in one `created_at`, `id` order. It is stored as two index ranges, and every
 * statement that reads a line reads both (`lineParts`): idx_pre_bookings_book_waiting_line (the book's own)
 * and idx_pre_bookings_work_waiting_line (its work's waiting work pre-bookings, whose `book_id` is null until
 * the engine gives them an edition); both carry `paused_until` and `user_id` (and the work's `formats_mask`),
 * so walking them never reads the table's rows. A work pre-booking the engine notifies or offers for one
 * edition gets that `book_id` and leaves every line at once (it is no longer waiting). A member is
 * **passed over** — it keeps its place, and `on_hold_reason` says why — while it is paused or, except under
 * `notify_all`, while its reader cannot be told: address unverified, restock emails off, account deactivated.
 * `notify_all` still notifies readers who cannot be told (the email pipeline records them `skipped`), but
 * never a paused one.
 */
import { type SQL, sql } from "drizzle-orm";
import { FORMATS, type Format } from "../../db/schema.ts";

/** Each format's bit in a work pre-booking's `formats_mask`. */
export const FORMAT_BITS: Record<Format, number> = {
	hardcover: 1,
	paperback: 2,
	ebook: 4,
	audiobook: 8,
	large_print: 16,
	other: 32,
};

export const maskOf = (formats: readonly Format[]) =>
	formats.reduce((mask, format) => mask | FORMAT_BITS[format], 0);
export const formatsOf = (mask: number): Format[] =>
	FORMATS.filter((format) => (mask & FORMAT_BITS[format]) !== 0);

/** The bit of book `book`'s format, as SQL (`book` is the alias of a `books` row). */
export const formatBit = (book: SQL) =>
	sql`(CASE ${book}.format ${sql.join(
		FORMATS.map((format) => sql.raw(`WHEN '${format}' THEN ${FORMAT_BITS[format]}`)),
		sql` `,
	)} ELSE 0 END)`;

/** Work pre-booking `prebook` (still without an edition) accepts book `book`: its work, a format it takes. */
export const acceptsBook = (prebook: SQL, book: SQL) =>
	sql`(${prebook}.book_id IS NULL AND ${prebook}.work_id = ${book}.work_id
		AND (${prebook}.formats_mask & ${formatBit(book)}) <> 0)`;

/**
 * The line of book `book` (an alias of a `books` row) as its two parts, each a condition on pre-booking
 * `prebook` that one index range serves: the book's own waiting pre-bookings, and the waiting work
 * pre-bookings that accept it. Statements read each part (UNION ALL, two EXISTS, a sum of two counts):
 * an OR of the two would be planned as a scan and sort of the whole line.
 */
export const lineParts = (prebook: SQL, book: SQL): [own: SQL, ofWork: SQL] => [
	sql`${prebook}.book_id = ${book}.id AND ${prebook}.status = 'waiting'`,
	sql`${acceptsBook(prebook, book)} AND ${prebook}.status = 'waiting'`,
];

/**
 * The lines pre-booking rows `prebooks` (a subquery of `pre_bookings` ids) are in, as a subquery of book
 * ids: a book pre-booking's (or a work pre-booking's that has an edition) book, and every edition a work
 * pre-booking without one accepts.
 */
export const linesOfPrebookings = (prebooks: SQL) => sql`SELECT lp.book_id FROM pre_bookings AS lp
	WHERE lp.id IN (${prebooks}) AND lp.book_id IS NOT NULL
	UNION SELECT le.id FROM pre_bookings AS lp JOIN books AS le ON ${acceptsBook(sql.raw("lp"), sql.raw("le"))}
	WHERE lp.id IN (${prebooks})`;

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
 * (not on a lottery book, where a draw has no order). A work pre-booking waits in the line of every edition
 * it accepts: its best place among them counts (fewest active ahead). Counted over the two line indexes,
 * one users seek per member ahead; NULL when not waiting.
 */
export const aheadInLine = (row: LineRow, now: string) => {
	const lineBook = sql.raw("ahead_b");
	const ahead = { prebook: sql.raw("ahead_p"), user: sql.raw("ahead_u"), book: lineBook };
	const before = sql`(ahead_p.created_at, ahead_p.id) < (${row.prebook}.created_at, ${row.prebook}.id)`;
	const [own, ofWork] = lineParts(ahead.prebook, lineBook);
	const membersAhead = (part: SQL) => sql`SELECT ${servable(ahead, now)} AS s
		FROM pre_bookings AS ahead_p JOIN users AS ahead_u ON ahead_u.id = ahead_p.user_id
		WHERE ${part} AND ${before}`;
	// Each line's counts packed as one number (active × 10^10 + passed over), so the best line is a min()
	// (no sort), unpacked into the JSON.
	return sql<string | null>`CASE WHEN ${row.prebook}.status = 'waiting' THEN (
		SELECT json_object('active', best / 10000000000, 'passed_over', best % 10000000000) FROM (
			SELECT min((SELECT coalesce(sum(s), 0) * 10000000000 + count(*) - coalesce(sum(s), 0)
				FROM (${membersAhead(own)} UNION ALL ${membersAhead(ofWork)}))) AS best
			FROM books AS ahead_b
			WHERE ahead_b.id = ${row.prebook}.book_id OR ${acceptsBook(row.prebook, lineBook)})
		WHERE best IS NOT NULL) END`;
};
