/**
 * The allocation policies (API.md, Pre-bookings rules 5–9): each one is the statements that give a book's
 * available copies to its line, guarded inside the SQL by `books.allocation`, so a batch carries every
 * policy's statements and exactly the book's current policy acts — decided in the transaction, never read
 * beforehand. A new policy is a new entry here, not a new call site.
 *
 *  - `notify_all`: whenever the book has available copies, every waiting member that is not paused becomes
 *    `notified`, all with this batch's `notified_at`, under one restock record (the restock of this batch,
 *    or a notice the engine records when copies came back another way). Under the invariant (rule 11) this
 *    is exactly rule 5's "available went from 0 to more": a book with available copies has nobody left
 *    waiting but paused members.
 *  - `waves`: one wave of `available × wave_factor` servable members becomes `notified` when the restock
 *    record has no wave yet or its last is `wave_minutes` old; the cron calls for the next ones.
 *  - `hold_queue`: the first `available` servable members become `offered`, one offer round per book, and
 *    `held_quantity` follows (the engine recounts it).
 *  - `lottery`: copies go to the runners-up of the book's last draw, else are held for its open draw, which
 *    closes on this moment's servable members (scored after the commit: lottery-draws.ts).
 */
import { type SQL, sql } from "drizzle-orm";
import type { Allocation, AllocationReason } from "../../db/schema.ts";
import { mapGroup, namedGroup, rawQuery, type StatementGroup } from "../../lib/batch.ts";
import { outsideQuietHours } from "../../lib/time-zone.ts";
import {
	eventIdsOf,
	noticeLongerThan,
	noticesOfThisBatch,
	prebookNotifiedEvents,
	prebookOfferedEvents,
} from "../webhooks/webhook-events.ts";
import { recountHeld } from "./held.ts";
import { acceptsBook, aliases, lineParts, servable } from "./line.ts";
import type { Notice, OfferRound, Outcome } from "./outcome.ts";
import { PUBLICATION_PAGE } from "./paged-publication.ts";
import { booksOf, type LineScope } from "./scope.ts";

/** What a policy did in a batch: its part of the engine's outcome. */
type PolicyOutcome = Partial<Outcome>;

export type Policy = (
	scope: LineScope,
	reason: AllocationReason,
	now: string,
) => StatementGroup<PolicyOutcome>;

const p = aliases("p", "u", "b");

/** The scope's books that follow `policy` and have available copies, as `b` (a FROM clause). */
const openBooks = (scope: LineScope, policy: Allocation) => sql`books AS b
	WHERE b.id IN (${booksOf(scope)}) AND b.allocation = ${policy} AND b.stock_quantity > b.held_quantity`;

/** The two parts of the line of book `b` (line.ts), as conditions on `p`. */
const [ownPart, workPart] = lineParts(sql.raw("p"), sql.raw("b"));

/** Whether book `b` has a member its policy serves now (either part of its line). */
const hasServable = (now: string) => {
	const exists = (
		part: SQL,
	) => sql`EXISTS (SELECT 1 FROM pre_bookings AS p JOIN users AS u ON u.id = p.user_id
		WHERE ${part} AND ${servable(p, now)})`;
	return sql`(${exists(ownPart)} OR ${exists(workPart)})`;
};

/**
 * How a policy walks a line: what else to join to `p` (`join`), which servable members qualify (`where`),
 * in which order (two keys), and how many it takes (`limit`, a per-book expression over `b`).
 */
interface LineWalk {
	join?: SQL;
	where: SQL;
	order: [SQL, SQL];
	limit: SQL;
}

/**
 * The first `limit` servable members of the line of one book (`book`, SQL naming it), in `order`: each part
 * of the line is an index walk that stops at the limit, and the two are merged.
 */
function firstOfLine(book: SQL, now: string, walk: LineWalk): SQL {
	// The book first (its row, not a policy's partial index: one row, so each part is walked in order and
	// stops at the limit), then its line: CROSS JOIN keeps that order.
	const limit = sql`coalesce((SELECT ${walk.limit} FROM books AS b WHERE b.id = ${book}), 0)`;
	const part = (member: SQL) => sql`SELECT * FROM (
		SELECT p.id AS id, ${walk.order[0]} AS k1, ${walk.order[1]} AS k2
		FROM books AS b NOT INDEXED CROSS JOIN pre_bookings AS p JOIN users AS u ON u.id = p.user_id ${walk.join ?? sql``}
		WHERE b.id = ${book} AND ${member} AND ${servable(p, now)} AND ${walk.where}
		ORDER BY k1, k2 LIMIT ${limit})`;
	return sql`SELECT id FROM (${part(ownPart)} UNION ALL ${part(workPart)}) ORDER BY k1, k2 LIMIT ${limit}`;
}

/**
 * The members a policy serves on each book of the scope, as rows `(id, line_book)`: the first `limit`
 * servable members of each book's line (`firstOfLine`). For a set of books, the books take their members
 * one after another in id order, each skipping those a book before it took: a work pre-booking waits in
 * several lines and gets at most one copy, and the next book serves its next member instead — as if the
 * engine ran for each book in turn. The candidates are each book's first members, as many as all the
 * scope's books together could take before it (`reach`); a recursive walk over them keeps each book's
 * count and marks each candidate taken or not (SQLite has no LATERAL, so the walk reads the ranked
 * candidates rather than each book's line). Only the work pre-bookings it took are remembered (a JSON
 * array): only they can come up again, in another book's line, so the walk is linear in a line of book
 * pre-bookings (it was quadratic: a cancel that released a wave of 10,000 took 20 s).
 */
function firstPerBook(scope: LineScope, now: string, walk: LineWalk): SQL {
	if (scope.kind === "book") {
		return sql`SELECT id, ${scope.book} AS line_book FROM (${firstOfLine(scope.book, now, walk)})`;
	}
	const members = (
		part: SQL,
		ofWork: 0 | 1,
	) => sql`SELECT b.id AS book, p.id AS member, ${sql.raw(String(ofWork))} AS of_work, ${walk.order[0]} AS k1,
			${walk.order[1]} AS k2
		FROM books AS b NOT INDEXED CROSS JOIN pre_bookings AS p JOIN users AS u ON u.id = p.user_id ${walk.join ?? sql``}
		WHERE ${part} AND b.id IN (SELECT book FROM quotas WHERE quota > 0) AND ${servable(p, now)} AND ${walk.where}`;
	const got = sql`(CASE WHEN r.book <> t.book THEN 0 ELSE t.got END)`;
	// Only a work pre-booking can be in two books' lines: only those are remembered (and looked up), so the
	// walk stays linear in a line of book pre-bookings.
	const takes = sql`(${got} < r.quota
		AND (r.of_work = 0 OR r.member NOT IN (SELECT value FROM json_each(t.work_picks))))`;
	return sql`WITH RECURSIVE quotas AS (
			SELECT b.id AS book, ${walk.limit} AS quota,
				sum(${walk.limit}) OVER (ORDER BY b.id ROWS UNBOUNDED PRECEDING) AS reach
			FROM books AS b WHERE b.id IN (${booksOf(scope)})),
		candidates AS (
			SELECT row_number() OVER (ORDER BY c.book, c.k1, c.k2) AS i, c.book, c.member, c.of_work, quotas.quota
			FROM (SELECT *, row_number() OVER (PARTITION BY book ORDER BY k1, k2) AS place
				FROM (${members(ownPart, 0)} UNION ALL ${members(workPart, 1)})) AS c
			JOIN quotas ON quotas.book = c.book
			WHERE c.place <= quotas.reach),
		walk (i, book, member, got, taken, work_picks) AS (
			SELECT 0, 0, NULL, 0, 0, json_array()
			UNION ALL
			SELECT r.i, r.book, r.member, ${got} + ${takes}, ${takes},
				CASE WHEN r.of_work = 1 AND ${takes} THEN json_insert(t.work_picks, '$[#]', r.member) ELSE t.work_picks END
			FROM walk AS t JOIN candidates AS r ON r.i = t.i + 1)
		SELECT member AS id, book AS line_book FROM walk WHERE taken = 1`;
}

/**
 * The restock record a notice is made under: the latest of the book it is for (`book`, SQL over the
 * statement's row). For one book's line that is one value, and written without the row SQLite computes it
 * once for the whole statement instead of seeking `restocks` for each reader (a fifth of marking a line of
 * a million notified, docs/benchmarks.md).
 */
const latestRestockOf = (scope: LineScope, book: SQL) =>
	scope.kind === "book"
		? sql`(SELECT max(id) FROM restocks WHERE book_id = ${scope.book})`
		: sql`(SELECT max(id) FROM restocks AS r WHERE r.book_id = ${book})`;

/** The edition a member is served for: a book pre-booking's book, else the first open book of the scope it accepts. */
const editionOf = (openBooksOfScope: SQL) => sql`coalesce(pre_bookings.book_id,
	(SELECT min(b.id) FROM ${openBooksOfScope} AND ${acceptsBook(sql.raw("pre_bookings"), sql.raw("b"))}))`;

const notifyAll: Policy = (scope, reason, now) =>
	mapGroup(
		namedGroup({
			// A restock records itself (features/restocks) before the engine runs; any other change that makes
			// copies available gets a notice record here, so every notification has a restock id to be emailed
			// under (the delivery ledger is keyed by pre-booking and restock).
			notice: rawQuery(sql`
				INSERT INTO restocks (book_id, admin_id, quantity_before, quantity_after, notified_count, reason, created_at)
				SELECT b.id, NULL, b.stock_quantity, b.stock_quantity, 0, ${reason}, ${now}
				FROM ${openBooks(scope, "notify_all")} AND ${hasServable(now)}
					AND NOT EXISTS (${noticesOfThisBatch(sql`b.id`, now)})`),
			// Every waiting member of an open book's line: its own (the same statement as a line without works,
			// touching no column of the line's index but the status)… Nothing is returned: a line of a million
			// is counted and paged, never read back whole.
			notified: rawQuery(sql`
				UPDATE pre_bookings
				SET status = 'notified', notified_at = ${now},
					restock_id = ${latestRestockOf(scope, sql`pre_bookings.book_id`)}
				WHERE status = 'waiting' AND book_id IN (SELECT b.id FROM ${openBooks(scope, "notify_all")})
					AND NOT coalesce(paused_until > ${now}, 0)`),
			// …and the work pre-bookings that accept it, each notified once, for one edition (its `book_id`).
			notifiedOfWorks: rawQuery(sql`
				UPDATE pre_bookings
				SET status = 'notified', notified_at = ${now}, book_id = ${editionOf(openBooks(scope, "notify_all"))},
					restock_id = ${latestRestockOf(scope, editionOf(openBooks(scope, "notify_all")))}
				WHERE id IN (SELECT p.id FROM books AS b NOT INDEXED CROSS JOIN pre_bookings AS p
						WHERE ${workPart} AND b.id IN (SELECT b.id FROM ${openBooks(scope, "notify_all")}))
					AND NOT coalesce(paused_until > ${now}, 0)`),
			counted: rawQuery<NoticeCount>(sql`UPDATE restocks
				SET notified_count = (SELECT count(*) FROM pre_bookings AS p WHERE p.restock_id = restocks.id)
				WHERE id IN (${noticesOfThisBatch(booksOf(scope), now)})
				RETURNING id AS restock_id, book_id, notified_count`),
			firstPage: firstPageOfNotices(noticesOfThisBatch(booksOf(scope), now), now),
			events: prebookNotifiedEvents(toldInOnePage(noticesOfThisBatch(booksOf(scope), now), now), now),
		}),
		({ counted, firstPage, events }) => ({
			notices: noticesOf(counted, firstPage, now),
			webhookEventIds: eventIdsOf(events),
		}),
	);

/** How many readers a notice (a restock record at this batch's `notified_at`) told. */
type NoticeCount = { restock_id: number; book_id: number; notified_count: number };

/**
 * The first page of this batch's notified readers under the given restock records, in `user_id` order
 * (idx_pre_bookings_restock_notice: an index range that stops at the page).
 */
const firstPageOfNotices = (restockIds: SQL, now: string) =>
	rawQuery<{ restock_id: number; user_id: number }>(sql`SELECT restock_id, user_id FROM pre_bookings
		WHERE restock_id IN (${restockIds}) AND notified_at = ${now}
		ORDER BY restock_id, user_id LIMIT ${PUBLICATION_PAGE}`);

/**
 * Of the given restock records, those whose readers of this batch fit in one publication page: their
 * `prebook.notified` events are recorded in this batch. A longer notice's are recorded page by page with
 * its publication (paged-publication.ts), so a restock of a million does not build a million readers' events in
 * its own batch (docs/benchmarks.md, "A line of a million"). Reads at most a page of index entries each.
 */
const toldInOnePage = (restockIds: SQL, now: string) => sql`SELECT r.id FROM restocks AS r
	WHERE r.id IN (${restockIds}) AND NOT ${noticeLongerThan(sql`r.id`, sql`${now}`, PUBLICATION_PAGE)}`;

/** The notices a notifying policy made: each record's count, with its part of the first page. */
function noticesOf(
	counts: NoticeCount[],
	firstPage: { restock_id: number; user_id: number }[],
	now: string,
): Notice[] {
	return counts
		.filter((notice) => notice.notified_count > 0)
		.map((notice) => ({
			restockId: notice.restock_id,
			bookId: notice.book_id,
			notifiedAt: now,
			count: notice.notified_count,
			firstPage: firstPage.filter((row) => row.restock_id === notice.restock_id).map((row) => row.user_id),
		}));
}

/** This batch's waves on the scope's books (a subquery of `notice_waves` rows). */
const wavesOfThisBatch = (scope: LineScope, now: string) =>
	sql`SELECT id, restock_id, book_id FROM notice_waves WHERE created_at = ${now} AND book_id IN (${booksOf(scope)})`;

/** The next readers of a waves book: the first `available × wave_factor`, on a book that got a wave now. */
const nextWave = (scope: LineScope, now: string) =>
	firstPerBook(scope, now, {
		// Whether the book got a wave now is the limit's (0 otherwise), so the walk stays in line order.
		where: sql`b.allocation = 'waves'`,
		order: [sql`p.created_at`, sql`p.id`],
		limit: sql`CASE WHEN b.allocation = 'waves'
			AND EXISTS (SELECT 1 FROM notice_waves AS w WHERE w.book_id = b.id AND w.created_at = ${now})
			THEN max(0, b.stock_quantity - b.held_quantity) * b.wave_factor ELSE 0 END`,
	});

/**
 * `waves` (rule 6): a book with available copies and servable readers gets a wave when a restock took its
 * available copies from 0 (the restock's first wave, at once) or when its last wave is `wave_minutes` old
 * (the next, by the cron or by any change that runs the engine): a restock on top of copies still
 * available waits for the next wave, sized on all of them. Each wave is a `notice_waves` row under the
 * restock record; its readers become `notified` under that record, which goes back to the relay until the
 * wave's publication is confirmed. No copy is held.
 */
const waves: Policy = (scope, reason, now) => {
	const latestRestock = sql`(SELECT max(id) FROM restocks WHERE book_id = b.id)`;
	return mapGroup(
		namedGroup({
			// A book switched to waves with copies and no restock record at all gets one to notify under.
			notice: rawQuery(sql`
				INSERT INTO restocks (book_id, admin_id, quantity_before, quantity_after, notified_count, reason, created_at)
				SELECT b.id, NULL, b.stock_quantity, b.stock_quantity, 0, ${reason}, ${now}
				FROM ${openBooks(scope, "waves")} AND ${hasServable(now)}
					AND NOT EXISTS (SELECT 1 FROM restocks WHERE book_id = b.id)`),
			wave: rawQuery(sql`
				INSERT INTO notice_waves (restock_id, book_id, wave, notified_count, created_at)
				SELECT r.id, b.id, coalesce((SELECT max(w.wave) FROM notice_waves AS w WHERE w.restock_id = r.id), 0) + 1,
					0, ${now}
				FROM books AS b JOIN restocks AS r ON r.id = ${latestRestock}
				WHERE b.id IN (${booksOf(scope)}) AND b.allocation = 'waves' AND b.stock_quantity > b.held_quantity
					AND ${hasServable(now)}
					AND (
						-- The book's last wave is wave_minutes old (or it never had one)…
						coalesce((SELECT max(w.created_at) FROM notice_waves AS w WHERE w.book_id = b.id)
							<= strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '-' || b.wave_minutes || ' minutes'), 1)
						-- …or a restock just took the available copies from 0: its first wave goes at once.
						OR (r.reason = 'restock' AND r.quantity_before <= b.held_quantity
							AND NOT EXISTS (SELECT 1 FROM notice_waves AS w WHERE w.restock_id = r.id)))`),
			notified: rawQuery(sql`
				UPDATE pre_bookings
				SET status = 'notified', notified_at = ${now}, book_id = wave.line_book,
					restock_id = ${latestRestockOf(scope, sql`wave.line_book`)}
				FROM (${nextWave(scope, now)}) AS wave
				WHERE pre_bookings.id = wave.id`),
			waveCount: rawQuery<NoticeCount>(sql`UPDATE notice_waves
				SET notified_count = (SELECT count(*) FROM pre_bookings AS p
					WHERE p.restock_id = notice_waves.restock_id AND p.notified_at = ${now})
				WHERE id IN (SELECT id FROM (${wavesOfThisBatch(scope, now)}))
				RETURNING restock_id, book_id, notified_count`),
			// The record counts every wave's readers, and is unconfirmed (and not the relay's for its grace
			// period) until this wave is published; where its cursor is, and whether an earlier wave's readers
			// are still after it, decide how the request publishes this wave (publish-outcome.ts).
			restockCount: rawQuery<{
				restock_id: number;
				at: string | null;
				user_id: number | null;
				pending: number;
			}>(sql`
				UPDATE restocks
				SET notified_count = (SELECT count(*) FROM pre_bookings AS p WHERE p.restock_id = restocks.id),
					published_at = NULL, publish_moved_at = ${now}
				WHERE id IN (SELECT restock_id FROM (${wavesOfThisBatch(scope, now)}))
				RETURNING id AS restock_id, publish_cursor_at AS at, publish_cursor_user_id AS user_id,
					EXISTS (SELECT 1 FROM pre_bookings AS p WHERE p.restock_id = restocks.id AND p.notified_at < ${now}
						AND (p.notified_at, p.user_id)
							> (coalesce(restocks.publish_cursor_at, ''), coalesce(restocks.publish_cursor_user_id, 0)))
						AS pending`),
			firstPage: firstPageOfNotices(sql`SELECT restock_id FROM (${wavesOfThisBatch(scope, now)})`, now),
			events: prebookNotifiedEvents(
				toldInOnePage(sql`SELECT restock_id FROM (${wavesOfThisBatch(scope, now)})`, now),
				now,
			),
		}),
		({ waveCount, restockCount, firstPage, events }) => ({
			notices: noticesOf(waveCount, firstPage, now).map((notice) => {
				const record = restockCount.find((row) => row.restock_id === notice.restockId);
				return {
					...notice,
					record: {
						cursor: { at: record?.at ?? null, userId: record?.user_id ?? null },
						earlierPending: record ? record.pending === 1 : true,
					},
				};
			}),
			webhookEventIds: eventIdsOf(events),
		}),
	);
};

/** The members a hold_queue book offers its available copies to: the first `available` servable in line. */
const nextInLine = (scope: LineScope, now: string) =>
	firstPerBook(scope, now, {
		where: sql`b.allocation = 'hold_queue'`,
		order: [sql`p.created_at`, sql`p.id`],
		limit: sql`CASE WHEN b.allocation = 'hold_queue' THEN max(0, b.stock_quantity - b.held_quantity) ELSE 0 END`,
	});

const holdQueue: Policy = (scope, reason, now) =>
	mapGroup(
		namedGroup({
			rounds: offerRounds(scope, "hold_queue", reason, now, hasServable(now)),
			offered: offerSelected(nextInLine(scope, now), now),
			readers: roundReaders(roundsOfThisBatch(booksOf(scope), now)),
			events: prebookOfferedEvents(booksOf(scope), now),
		}),
		({ rounds, readers, events }) => ({
			offers: roundsOf(rounds, readers),
			webhookEventIds: eventIdsOf(events),
		}),
	);

/** An offer round per book of the scope whose `offered` statement will offer someone (hold_queue, lottery). */
const offerRounds = (
	scope: LineScope,
	policy: Allocation,
	reason: AllocationReason,
	now: string,
	anyone: SQL,
) =>
	rawQuery<{ id: number; book_id: number; hold_expires_at: string }>(sql`
		INSERT INTO offer_rounds (book_id, reason, offered_at, hold_expires_at, created_at)
		SELECT b.id, ${reason}, ${now}, strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '+' || b.hold_hours || ' hours'), ${now}
		FROM ${openBooks(scope, policy)} AND ${anyone}
		RETURNING id, book_id, hold_expires_at`);

/**
 * Offers the selected pre-bookings (rows `(id, line_book)`) a held copy each of their line's book, in its
 * round of this batch; a work pre-booking gets that edition as its `book_id`.
 */
export const offerSelected = (selected: SQL, now: string) => {
	const roundOfBook = sql`(SELECT max(r.id) FROM offer_rounds AS r WHERE r.book_id = chosen.line_book)`;
	// Nothing is returned: `roundReaders` counts the readers and reads the first page.
	return rawQuery(sql`
		UPDATE pre_bookings
		SET status = 'offered', offered_at = ${now}, book_id = chosen.line_book, offer_round_id = ${roundOfBook},
			hold_expires_at = ${outsideQuietHours(
				sql`(SELECT hold_expires_at FROM offer_rounds WHERE id = ${roundOfBook})`,
				sql`(SELECT utc_offset_minutes FROM users WHERE id = pre_bookings.user_id)`,
			)}
		FROM (${selected}) AS chosen
		WHERE pre_bookings.id = chosen.id`);
};

/** The offer rounds this batch made on the given books. */
export const roundsOfThisBatch = (books: SQL, now: string) =>
	sql`SELECT id FROM offer_rounds WHERE book_id IN (${books}) AND created_at = ${now}`;

/**
 * How many readers each of the given rounds offered, recorded on the round (`offered_count`, set once: a
 * trigger counts them in the insight counters then), and the first page of them in `user_id` order. Run
 * right after the UPDATE that offered them; a later run in the same batch leaves the round alone.
 */
export const roundReaders = (rounds: SQL) =>
	namedGroup({
		counts: rawQuery<{ offer_round_id: number; offered: number }>(sql`
			UPDATE offer_rounds
			SET offered_count = (SELECT count(*) FROM pre_bookings AS p WHERE p.offer_round_id = offer_rounds.id)
			WHERE id IN (${rounds}) AND offered_count IS NULL
			RETURNING id AS offer_round_id, offered_count AS offered`),
		firstPage: rawQuery<{ offer_round_id: number; user_id: number; hold_expires_at: string }>(sql`
			SELECT offer_round_id, user_id, hold_expires_at FROM pre_bookings WHERE offer_round_id IN (${rounds})
			ORDER BY offer_round_id, user_id LIMIT ${PUBLICATION_PAGE}`),
	});

/** The rounds a batch made, with their count and first page (a round nobody took is left out). */
export const roundsOf = (
	rounds: { id: number; book_id: number; hold_expires_at: string }[],
	readers: {
		counts: { offer_round_id: number; offered: number }[];
		firstPage: { offer_round_id: number; user_id: number; hold_expires_at: string }[];
	},
): OfferRound[] =>
	rounds.flatMap((round) => {
		const count = readers.counts.find((row) => row.offer_round_id === round.id)?.offered ?? 0;
		if (count === 0) return [];
		return [
			{
				bookId: round.book_id,
				roundId: round.id,
				count,
				firstPage: readers.firstPage
					.filter((row) => row.offer_round_id === round.id)
					.map((row) => ({ userId: row.user_id, holdExpiresAt: row.hold_expires_at })),
			},
		];
	});

/** A lottery book's latest closed draw. */
const lastClosedDraw = sql`(SELECT max(d.id) FROM draws AS d WHERE d.book_id = b.id AND d.status = 'closed')`;

/**
 * `lottery` (rule 8), the part decided inside the batch of the change:
 *  1. copies go first to the runners-up of the book's last closed draw (its next lowest scores whose
 *     pre-booking still waits and is servable: an expired or passed offer moves down that draw);
 *  2. what is still available is held for the book's open draw, which closes on the servable waiting
 *     pre-bookings of this moment (`closing`, its entries written). Scoring needs HMAC, which SQLite lacks:
 *     the Worker completes the draw after the commit (lottery-draws.ts), or the cron within a minute;
 *  3. a lottery book without an open or closing draw is reported, so one is opened after the commit.
 */
const lottery: Policy = (scope, reason, now) => {
	const runnersUp = firstPerBook(scope, now, {
		join: sql`JOIN draw_entries AS e ON e.prebook_id = p.id AND e.draw_id = ${lastClosedDraw}`,
		where: sql`b.allocation = 'lottery' AND e.won = 0 AND e.score IS NOT NULL`,
		order: [sql`e.score`, sql`p.id`],
		limit: sql`CASE WHEN b.allocation = 'lottery' THEN max(0, b.stock_quantity - b.held_quantity) ELSE 0 END`,
	});
	const runnerUpIn = (
		part: SQL,
	) => sql`EXISTS (SELECT 1 FROM pre_bookings AS p JOIN users AS u ON u.id = p.user_id
		JOIN draw_entries AS e ON e.prebook_id = p.id AND e.draw_id = ${lastClosedDraw}
		WHERE ${part} AND e.won = 0 AND e.score IS NOT NULL AND ${servable(p, now)})`;
	const hasRunnerUp = sql`(${runnerUpIn(ownPart)} OR ${runnerUpIn(workPart)})`;
	const countIn = (
		part: SQL,
	) => sql`(SELECT count(*) FROM pre_bookings AS p JOIN users AS u ON u.id = p.user_id
		WHERE ${part} AND ${servable(p, now)})`;
	const servableCount = sql`(${countIn(ownPart)} + ${countIn(workPart)})`;
	const entriesOf = (part: SQL) => sql`SELECT d.id, p.id FROM draws AS d JOIN books AS b ON b.id = d.book_id
		CROSS JOIN pre_bookings AS p JOIN users AS u ON u.id = p.user_id
		WHERE ${part} AND d.status = 'closing' AND d.closing_at = ${now} AND d.book_id IN (${booksOf(scope)})
			AND ${servable(p, now)}`;
	return mapGroup(
		namedGroup({
			rounds: offerRounds(scope, "lottery", reason, now, hasRunnerUp),
			offered: offerSelected(runnersUp, now),
			readers: roundReaders(roundsOfThisBatch(booksOf(scope), now)),
			// The offers of this batch, over the book's offered rows (named: without statistics the planner may
			// take idx_pre_bookings_book_created and read the book's whole history).
			// Only a lottery book's: a book that left the lottery keeps its last draw's record as it was.
			won: rawQuery(sql`UPDATE draw_entries SET won = 1
				WHERE prebook_id IN (SELECT id FROM pre_bookings INDEXED BY idx_pre_bookings_book_offered
					WHERE status = 'offered' AND offered_at = ${now} AND book_id IN (${booksOf(scope)})
						AND book_id IN (SELECT id FROM books WHERE allocation = 'lottery'))
					AND draw_id = (SELECT max(d.id) FROM draws AS d JOIN pre_bookings AS p ON p.book_id = d.book_id
						WHERE p.id = draw_entries.prebook_id AND d.status = 'closed')`),
			// The copies the runners-up took are held now; the rest is what the open draw gets.
			recounted: recountHeld(scope),
			closing: rawQuery<{ id: number }>(sql`UPDATE draws
				SET status = 'closing', closing_at = ${now},
					copies = (SELECT min(b.stock_quantity - b.held_quantity, ${servableCount}) FROM books AS b
						WHERE b.id = draws.book_id),
					entries = (SELECT ${servableCount} FROM books AS b WHERE b.id = draws.book_id)
				WHERE status = 'open' AND book_id IN (SELECT b.id FROM ${openBooks(scope, "lottery")} AND ${hasServable(now)})
				RETURNING id`),
			// A work pre-booking in the lines of two closing draws enters both; the first completed draw that
			// offers it a copy takes it out of the other (only waiting entries win).
			entries: rawQuery(sql`INSERT INTO draw_entries (draw_id, prebook_id)
				${entriesOf(ownPart)} UNION ALL ${entriesOf(workPart)}`),
			events: prebookOfferedEvents(booksOf(scope), now),
			drawless: rawQuery<{ id: number }>(sql`SELECT b.id FROM books AS b
				WHERE b.id IN (${booksOf(scope)}) AND b.allocation = 'lottery'
					AND NOT EXISTS (SELECT 1 FROM draws AS d WHERE d.book_id = b.id AND d.status IN ('open', 'closing'))`),
		}),
		({ rounds, readers, recounted, closing, events, drawless }) => ({
			offers: roundsOf(rounds, readers),
			catalogBookIds: recounted.map((book) => book.id),
			webhookEventIds: eventIdsOf(events),
			closingDraws: closing.map((draw) => draw.id),
			drawsToOpen: drawless.map((book) => book.id),
		}),
	);
};

/** Every policy, by the value of `books.allocation`. */
export const POLICIES: Record<Allocation, Policy> = {
	notify_all: notifyAll,
	waves,
	hold_queue: holdQueue,
	lottery,
};
