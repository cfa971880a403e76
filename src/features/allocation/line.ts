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
import { rawQuery } from "../../lib/batch.ts";

/** Each format's bit in a work pre-booking's `formats_mask`. */
const FORMAT_BITS: Record<Format, number> = {
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
 * ids: a book pre-booking's (or a work pre-booking's that has an edition) book, every edition a work
 * pre-booking without one accepts, and the book of the offer round it still names — a batch that hands a
 * held copy back (a pass, a deactivation) keeps `offer_round_id` until its engine ran, so the book whose copy
 * it freed is served and recounted even when it is no longer an edition the pre-booking accepts (moved to
 * another work, another format), and clears it last (`forgetHandedBackRounds`).
 */
export const linesOfPrebookings = (prebooks: SQL) => sql`SELECT lp.book_id FROM pre_bookings AS lp
	WHERE lp.id IN (${prebooks}) AND lp.book_id IS NOT NULL
	UNION SELECT le.id FROM pre_bookings AS lp JOIN books AS le ON ${acceptsBook(sql.raw("lp"), sql.raw("le"))}
	WHERE lp.id IN (${prebooks})
	UNION SELECT lr.book_id FROM pre_bookings AS lp JOIN offer_rounds AS lr ON lr.id = lp.offer_round_id
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
 * `on_hold_reason` of a waiting pre-booking in one line as SQL: NULL when the engine would serve it now.
 * Needs the pre-booking's row, its reader's and the line's book's (for the policy); `tellsEveryone` is when
 * the reader's emails do not matter (by default, that book is `notify_all`).
 */
export const onHoldReason = (
	row: LineRow,
	now: string,
	tellsEveryone: SQL = sql`${row.book}.allocation = 'notify_all'`,
) => sql<OnHoldReason | null>`CASE
	WHEN ${row.prebook}.status <> 'waiting' THEN NULL
	WHEN ${paused(row, now)} THEN 'paused'
	WHEN ${tellsEveryone} THEN NULL
	WHEN ${row.user}.email_verified = 0 THEN 'email_unverified'
	WHEN ${row.user}.restock_emails = 0 THEN 'emails_off'
	WHEN ${row.user}.is_active = 0 THEN 'account_deactivated'
	END`;

/**
 * `on_hold_reason` of a pre-booking over all its lines (what the reader is shown): a book pre-booking's is
 * its book's (`row.book`); a waiting work pre-booking is in the line of every edition it accepts, and a
 * pause holds it in all of them, while a reader who cannot be told is passed over by every edition that is
 * not `notify_all` — so that reason shows unless every edition it accepts is `notify_all`.
 */
export const prebookOnHoldReason = (row: LineRow, now: string) =>
	onHoldReason(
		row,
		now,
		sql`CASE WHEN ${row.prebook}.book_id IS NULL THEN NOT EXISTS (SELECT 1 FROM books AS hold_e
			WHERE ${acceptsBook(row.prebook, sql.raw("hold_e"))} AND hold_e.allocation <> 'notify_all')
		ELSE ${row.book}.allocation = 'notify_all' END`,
	);

/** A waiting member the engine serves now under its book's policy (`onHoldReason` is NULL). */
export const servable = (row: LineRow, now: string) =>
	sql`(NOT ${paused(row, now)} AND (${row.book}.allocation = 'notify_all' OR ${reachable(row)}))`;

/**
 * The most members ahead a read counts in each part of a line (the book's own, its work's): beyond it,
 * `aheadOf` estimates (docs/allocation.md, "Place in line"). A read walks at most `AHEAD_CAP + 1` index
 * entries (and users seeks) per part and line, ahead of the reader, and as many behind it.
 */
export const AHEAD_CAP = 10_000;

/**
 * What a read measured of one line of a waiting pre-booking (`aheadInLine`): the members ahead in each part,
 * counted nearest first up to the cap + 1 (`n`), those the engine serves now among them (`a`) and the
 * `created_at` of the farthest counted (`edge`); when the own part has more than the cap ahead, the own
 * members behind, counted the same way; when both have more, the `created_at` of the own part's first and
 * last member (`span`); the book's waiting counter (`book_demand.waiting_count`, its own waiting
 * pre-bookings); and whether the reader is one of the book's own (1) or of its work's (0).
 */
export interface LineMeasure {
	own: { n: number; a: number; edge: string | null };
	work: { n: number; a: number };
	behind: { n: number; edge: string | null } | null;
	span: [front: string, back: string] | null;
	waiting: number;
	self: number;
}

const ms = (at: string | null | undefined) => (at ? Date.parse(at) : Number.NaN);

/**
 * The members ahead in one measured line, `{active, passed_over}` (docs/allocation.md, "Place in line"):
 * exact while each part has at most `cap` ahead. Beyond it the own part is worked out from the book's
 * waiting counter: with at most `cap` behind, the counter minus the reader and those behind (exact); with
 * more behind too, the members neither walk reached are shared between the front and the back of the line
 * in proportion to the time each stretch spans (exact when sign-ups came at an even pace). The work part has
 * no counter: beyond the cap it reports `cap + 1` (at least that many). Past the cap, the active share of
 * the counted members stands for the part's.
 */
function aheadInMeasure(line: LineMeasure, cap = AHEAD_CAP) {
	const part = ({ n, a }: { n: number; a: number }, total: number) =>
		n <= cap ? { total: n, active: a } : { total, active: Math.round((total * a) / n) };
	let ownTotal = line.own.n;
	const behind = line.behind;
	if (line.own.n > cap && behind) {
		const notBehind = Math.max(cap + 1, line.waiting - line.self - behind.n);
		ownTotal = notBehind;
		if (behind.n > cap) {
			// Neither walk reached `unseen` members: before the ahead walk's edge or after the behind walk's.
			const unseen = Math.max(0, notBehind - line.own.n);
			const front = ms(line.own.edge) - ms(line.span?.[0]);
			const back = ms(line.span?.[1]) - ms(behind.edge);
			const share = front + back > 0 ? front / (front + back) : 0.5;
			ownTotal = line.own.n + Math.round(unseen * (Number.isFinite(share) ? share : 0.5));
		}
	}
	const own = part(line.own, ownTotal);
	const work = part(line.work, line.work.n);
	const active = own.active + work.active;
	return { active, passed_over: own.total + work.total - active };
}

/** The best place over measured lines (fewest active ahead); null without a line. */
export function aheadOf(lines: readonly LineMeasure[], cap = AHEAD_CAP) {
	return bestLine(lines, cap)?.ahead ?? null;
}

/** The measured line with the best place (fewest active ahead, the first of equals) and that place. */
function bestLine<L extends LineMeasure>(lines: readonly L[], cap = AHEAD_CAP) {
	let best: { line: L; ahead: { active: number; passed_over: number } } | null = null;
	for (const line of lines) {
		const ahead = aheadInMeasure(line, cap);
		if (!best || ahead.active < best.ahead.active) best = { line, ahead };
	}
	return best;
}

/**
 * A line a waiting pre-booking's own read measured (`aheadInLine`): the measure, the line's book and whether
 * the engine serves the reader in it now (1; 0: passed over there — paused, or a reader who cannot be told
 * on a book that is not `notify_all`).
 */
export interface MeasuredLine extends LineMeasure {
	book_id: number;
	served: number;
}

/**
 * Where a waiting pre-booking stands (API.md: `position`, `estimate`): its best place over the lines that
 * serve it now — a work pre-booking may be passed over in one edition's line and served in another's — or,
 * when none does, over all its lines (the place it keeps). `served` says which; null without a line.
 */
export function bestPlace(lines: readonly MeasuredLine[], cap = AHEAD_CAP) {
	const serving = lines.filter((line) => line.served === 1);
	const best = bestLine(serving.length > 0 ? serving : lines, cap);
	return best && { bookId: best.line.book_id, ahead: best.ahead, served: serving.length > 0 };
}

/**
 * The members ahead of a waiting pre-booking in each of its lines, measured with bounded walks as JSON
 * `[LineMeasure]` (`aheadOf` turns it into `{active, passed_over}`): the engine serves some now and passes
 * over the rest. `position` is `active + 1` for a member not passed over; a lottery book's line is not
 * measured (a draw has no order). A work pre-booking waits in the line of every edition it accepts: its best place
 * among them counts (fewest active ahead). Each part is walked over its line index from the reader, one
 * users seek per member ahead, and stops at `cap + 1`; the walk behind reads the index only, and the span
 * is two seeks: a read costs at most about `3 × cap` rows per line however long the line. NULL when not
 * waiting.
 */
export const aheadInLine = (row: LineRow, now: string, cap = AHEAD_CAP) =>
	sql<string | null>`CASE WHEN ${row.prebook}.status = 'waiting' THEN ${measureLines(
		{
			me: sql`(${row.prebook}.created_at, ${row.prebook}.id)`,
			// A lottery's line has no order: it gives nobody a place (a work pre-booking's place is its best
			// over its other editions).
			lines: sql`(ahead_b.id = ${row.prebook}.book_id OR ${acceptsBook(row.prebook, sql.raw("ahead_b"))})
				AND ahead_b.allocation <> 'lottery'`,
			self: sql`${row.prebook}.book_id IS ahead_b.id`,
			served: servable({ prebook: row.prebook, user: row.user, book: sql.raw("ahead_b") }, now),
		},
		now,
		cap,
	)} END`;

/**
 * The bounded measure (`LineMeasure[]` as JSON) of the lines `lines` (a condition on books `ahead_b`) from
 * the place `me` (a row value `(created_at, id)`): members strictly before it are ahead, after it behind;
 * `self` (SQL over `ahead_b`) says whether `me` is one of the book's own waiting members, counted by its
 * waiting counter but neither ahead nor behind; `served` (SQL over `ahead_b`, default 1) whether the engine
 * serves `me` in that line now. Each line's JSON carries its `book_id`. A scalar subquery.
 */
export const measureLines = (
	place: { me: SQL; lines: SQL; self: SQL; served?: SQL },
	now: string,
	cap = AHEAD_CAP,
) => {
	const { me } = place;
	const lineBook = sql.raw("ahead_b");
	const ahead = { prebook: sql.raw("ahead_p"), user: sql.raw("ahead_u"), book: lineBook };
	const [own, ofWork] = lineParts(ahead.prebook, lineBook);
	// The part's members ahead, nearest first, at most cap + 1.
	const walkAhead = (
		part: SQL,
	) => sql`(SELECT json_object('n', count(*), 'a', coalesce(sum(s), 0), 'edge', min(c))
		FROM (SELECT ${servable(ahead, now)} AS s, ahead_p.created_at AS c
			FROM pre_bookings AS ahead_p JOIN users AS ahead_u ON ahead_u.id = ahead_p.user_id
			WHERE ${part} AND (ahead_p.created_at, ahead_p.id) < ${me}
			ORDER BY ahead_p.created_at DESC, ahead_p.id DESC LIMIT ${cap + 1}))`;
	const measured = sql.raw("measured");
	const [ownBehind] = lineParts(sql.raw("behind_p"), measured);
	const walkBehind = sql`(SELECT json_object('n', count(*), 'edge', max(c))
		FROM (SELECT behind_p.created_at AS c FROM pre_bookings AS behind_p
			WHERE ${ownBehind} AND (behind_p.created_at, behind_p.id) > ${me}
			ORDER BY behind_p.created_at, behind_p.id LIMIT ${cap + 1}))`;
	const [ownEnd] = lineParts(sql.raw("end_p"), measured);
	const end = (fn: "min" | "max") =>
		sql.raw(`(SELECT ${fn}(end_p.created_at) FROM pre_bookings AS end_p WHERE `);
	const span = sql`json_array(${end("min")}${ownEnd}), ${end("max")}${ownEnd}))`;
	const count = (json: string) => sql.raw(`json_extract(${json}, '$.n')`);
	// Each walk runs once per line: the measures are materialized before the JSON reads them.
	return sql<string>`(
		WITH measured AS MATERIALIZED (
			SELECT ahead_b.id AS id, ${walkAhead(own)} AS own, ${walkAhead(ofWork)} AS work, ${place.self} AS self,
				${place.served ?? sql`1`} AS served
			FROM books AS ahead_b WHERE ${place.lines}),
		behind AS MATERIALIZED (
			SELECT measured.*, CASE WHEN ${count("measured.own")} > ${cap} THEN ${walkBehind} END AS behind
			FROM measured)
		SELECT json_group_array(json_object('book_id', id, 'served', served, 'own', json(own), 'work', json(work),
			'behind', json(behind),
			'span', CASE WHEN ${count("behind")} > ${cap} THEN ${span} END,
			'waiting', coalesce((SELECT waiting_count FROM book_demand WHERE book_id = measured.id), 0),
			'self', self))
		FROM behind AS measured)`;
};

/**
 * The statements that put offers back in line without a pass — a deactivated holder's, the offers of an
 * edition being deleted: `offers` is `FROM pre_bookings WHERE …` naming the offered rows. Each one's lines
 * count one more waiting (the views `waiting_line_change` and `work_line_change`, as the join triggers count
 * a pass, which this is not: no `passed` is tallied), then the offers wait again, place kept and no pass
 * spent (a work pre-booking without an edition). They keep `offer_round_id`, so the batch's engine serves
 * and recounts the freed copies' books (`linesOfPrebookings`); `forgetHandedBackRounds` comes last.
 */
export const handBackOffers = (offers: SQL, now: string) => ({
	bookLinesRejoined: rawQuery(sql`INSERT INTO waiting_line_change (book_id, delta, at)
		SELECT book_id, 1, ${now} ${offers} AND work_id IS NULL`),
	workLinesRejoined: rawQuery(sql`INSERT INTO work_line_change (work_id, formats_mask, delta, at)
		SELECT work_id, formats_mask, 1, ${now} ${offers} AND work_id IS NOT NULL`),
	handedBack: rawQuery(sql`UPDATE pre_bookings
		SET status = 'waiting', offered_at = NULL, hold_expires_at = NULL,
			book_id = CASE WHEN work_id IS NULL THEN book_id END
		WHERE id IN (SELECT id ${offers})`),
});

/**
 * The last statement of a batch that handed held copies back: the pre-bookings among `prebooks` back in line
 * (waiting, or notified by the engine meanwhile) forget the round that had offered them, kept until the
 * engine ran (`linesOfPrebookings`). Closed ones keep theirs (a purchase's or an expiry's history).
 */
export const forgetHandedBackRounds = (prebooks: SQL) => sql`UPDATE pre_bookings SET offer_round_id = NULL
	WHERE id IN (${prebooks}) AND status IN ('waiting', 'notified') AND offer_round_id IS NOT NULL`;
