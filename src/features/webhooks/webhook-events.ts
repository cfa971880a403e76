/**
 * The webhook outbox: the statements that record events (the catalogue of event types and their payloads is
 * webhook-catalogue.ts).
 *
 * An event is born in the batch of the change it describes: each builder below is one statement appended to
 * an existing batch (restock, offers, expiry, checkout), an `INSERT INTO webhook_events … SELECT …` whose
 * SELECT reads what the batch itself did — the rows an earlier statement changed, found by their new status,
 * timestamp and restock or round id — so a crash after the commit cannot lose an event and a rolled-back
 * batch cannot invent one. `source_key` makes every event unique, so two batches that could see the same
 * rows (one millisecond apart) still record it once.
 *
 * Every event is recorded, subscribed or not: the outbox is also the event feed (`GET /admin/events`, kept
 * 30 days), and its id is the feed's `seq`. The cost is bounded by the batch's own change — a statement reads
 * the rows its batch just wrote (through the index the batch wrote them by), once; a restock notifying 1,000
 * readers reads their 1,000 index entries and writes 10 events, whatever the history. An event no enabled
 * endpoint subscribes to is born published (`published_at` set), so it costs no publication round trip and
 * gets no delivery.
 *
 * Pre-booking events name their users in chunks of at most 100 (as the queue messages do), so a restock that
 * notifies 100,000 readers records 1,000 events — 1,000 POSTs of a few KB per endpoint, never 100,000 calls
 * and never one call of megabytes. The one exception to "born in the batch of the change": a notice longer
 * than a publication page records its `prebook.notified` events with its publication, page by page, in the
 * batch that moves its cursor (`notifiedEventsOfPage`; features/allocation/paged-publication.ts).
 *
 * Adding an event type: one entry in `WEBHOOK_EVENTS` (webhook-catalogue.ts: its payload schema, which the
 * OpenAPI document's `webhooks` section and the endpoint validation read), and the statement here that the
 * batch causing it runs.
 */
import { type SQL, sql } from "drizzle-orm";
import { rawQuery } from "../../lib/batch.ts";
import { MAX_USERS_PER_EVENT, type WebhookEventType } from "./webhook-catalogue.ts";

/**
 * `published_at` of a new event: now when no enabled endpoint subscribes to its type (nothing to deliver,
 * so nothing to publish), else NULL for the publication. An uncorrelated subquery: evaluated once per
 * statement.
 */
const publishedUnlessSubscribed = (type: WebhookEventType, now: string) =>
	sql`CASE WHEN EXISTS (SELECT 1 FROM webhook_endpoints AS e, json_each(e.events) AS t
		WHERE e.enabled = 1 AND t.value = ${type}) THEN NULL ELSE ${now} END`;

/**
 * The outbox INSERT around a SELECT of (type, payload, source_key, created_at); returns the new events' ids,
 * and whether each still has to be published.
 */
const recordEvents = (type: WebhookEventType, now: string, select: SQL) =>
	rawQuery<RecordedEvent>(sql`INSERT INTO webhook_events (type, payload, source_key, created_at, published_at)
		SELECT *, ${publishedUnlessSubscribed(type, now)} FROM (${select})
		WHERE true
		ON CONFLICT (source_key) DO NOTHING
		RETURNING id, published_at IS NULL AS unpublished`);

/** A row of an outbox statement's results. */
export interface RecordedEvent {
	id: number;
	/** 1 when an endpoint subscribes to it (it waits for publication), 0 when it was born published. */
	unpublished: number;
}

/** Inlined: D1 binds numbers as REAL, and the chunk number must come from an integer division. */
const CHUNK = sql.raw(String(MAX_USERS_PER_EVENT));

/**
 * Events of at most `MAX_USERS_PER_EVENT` users each over `rows` (a SELECT of `prebook_id`, `user_id` and
 * whatever `fields` reads), chunked in user id order — the order of
 * the restock and round indexes, so no sort of a 100,000-row notification.
 */
const perUserChunks = (
	type: WebhookEventType,
	now: string,
	rows: SQL,
	fields: SQL,
	chunks: { of: SQL; key: SQL },
) =>
	recordEvents(
		type,
		now,
		sql`SELECT ${type},
			json_object(${fields}, 'user_ids', json_group_array(user_id), 'prebook_ids', json_group_array(prebook_id)),
			${type} || ':' || ${chunks.key} || ':' || chunk, ${now}
		FROM (SELECT *, (row_number() OVER (PARTITION BY ${chunks.of} ORDER BY user_id) - 1) / ${CHUNK} AS chunk
			FROM (${rows}))
		WHERE true
		GROUP BY ${chunks.of}, chunk`,
	);

/**
 * The restock records (`restocks` rows: a restock, or a notice the engine recorded) this batch inserted on
 * the given books: each book's newest, if it carries this batch's `now`.
 */
export const noticesOfThisBatch = (books: SQL, now: string) => sql`SELECT id FROM restocks
	WHERE id IN (SELECT max(id) FROM restocks WHERE book_id IN (${books}) GROUP BY book_id) AND created_at = ${now}`;

/** Restock batch: `restock.created`, when the batch recorded a restock (the stock rose). */
export const restockCreatedEvent = (bookId: number, now: string) =>
	recordEvents(
		"restock.created",
		now,
		sql`SELECT 'restock.created',
			json_object('restock_id', r.id, 'book_id', r.book_id, 'quantity_before', r.quantity_before,
				'quantity_after', r.quantity_after, 'notified_count', r.notified_count, 'created_at', r.created_at),
			'restock.created:' || r.id, ${now}
		FROM restocks AS r
		WHERE r.id IN (${noticesOfThisBatch(sql`${bookId}`, now)}) AND r.reason = 'restock'`,
	);

/** The `prebook.notified` events of a notice's readers (`rows`: the notice's pre-bookings with their `notified_at`). */
const notifiedEvents = (now: string, rows: SQL) =>
	perUserChunks(
		"prebook.notified",
		now,
		rows,
		sql`'book_id', book_id, 'restock_id', restock_id, 'notified_at', notified_at`,
		// A chunk is named by its first reader: chunks recorded from different places in one notice (its pages,
		// paged-publication.ts) never share a key, and the same chunk recorded twice is recorded once.
		{ of: sql`restock_id, notified_at`, key: sql`restock_id || '@' || notified_at || ':u' || min(user_id)` },
	);

/**
 * After a notifying UPDATE of the engine: `prebook.notified` for the pre-bookings it notified — the ones
 * pointing at the given restock records with this batch's `notified_at` (idx_pre_bookings_restock_notice).
 * A restock's waves share its record, so each wave's events are keyed by their time as well. The caller
 * passes the notices told whole in its batch; a longer one's events are recorded page by page with its
 * publication (`notifiedEventsOfPage`).
 */
export const prebookNotifiedEvents = (restockIds: SQL, now: string) =>
	notifiedEvents(
		now,
		sql`SELECT p.id AS prebook_id, p.user_id, p.restock_id, p.book_id, p.notified_at
			FROM pre_bookings AS p
			WHERE p.restock_id IN (${restockIds}) AND p.notified_at = ${now}`,
	);

/**
 * Whether the notice of restock record `restockId` at `at` (one `notified_at`: the notice, or one wave)
 * told more than `readers` readers: a probe of at most `readers` + 1 index entries
 * (idx_pre_bookings_restock_notice). The restock's batch records the events of a notice no longer than a
 * publication page (policies.ts); the publication records the others' (below): both ask this.
 */
export const noticeLongerThan = (restockId: SQL, at: SQL, readers: number) =>
	sql`((SELECT q.user_id FROM pre_bookings AS q WHERE q.restock_id = ${restockId} AND q.notified_at = ${at}
		ORDER BY q.user_id LIMIT 1 OFFSET ${readers}) IS NOT NULL)`;

/**
 * A publication page's batch (paged-publication.ts), before it moves the notice's cursor: `prebook.notified` for
 * the notice's readers after the cursor `from` up to and including `to` (`(notified_at, user_id)` order,
 * idx_pre_bookings_restock_notice), recorded only while the cursor is still at `from` (`cursorAtFrom`), so
 * of two publishers of one page only the one that moves the cursor records it. A wave or notice of at most
 * `toldWhole` readers had its events recorded whole in its own batch (policies.ts) and is left out here:
 * a page that starts inside it would chunk it differently, naming its readers in a second event.
 */
export const notifiedEventsOfPage = (
	restockId: number,
	from: { at: string | null; userId: number | null },
	to: { at: string | null; userId: number | null },
	cursorAtFrom: SQL,
	toldWhole: number,
	now: string,
) => {
	const inPage = sql`p.restock_id = ${restockId}
		AND (p.notified_at, p.user_id) > (${from.at ?? ""}, ${from.userId ?? 0})
		AND (p.notified_at, p.user_id) <= (${to.at ?? ""}, ${to.userId ?? 0})`;
	// The page's notices (times) told in more than one page.
	const longNotices = sql`SELECT g.at FROM (SELECT DISTINCT p.notified_at AS at FROM pre_bookings AS p
			WHERE ${inPage}) AS g
		WHERE ${noticeLongerThan(sql`${restockId}`, sql`g.at`, toldWhole)}`;
	// `+p.notified_at`: the IN is a filter, not the index's equality — as one, it took the place of the page's
	// range on (notified_at, user_id), and every page walked the whole notice (a million's publication took
	// 31 s instead of 19: test/publication.test.ts pins the rows a page reads).
	return notifiedEvents(
		now,
		sql`SELECT p.id AS prebook_id, p.user_id, p.restock_id, p.book_id, p.notified_at
			FROM pre_bookings AS p
			WHERE ${inPage} AND +p.notified_at IN (${longNotices}) AND ${cursorAtFrom}`,
	);
};

/**
 * After the engine's offering UPDATE (hold_queue, lottery): `prebook.offered` for the rounds this batch created on the given
 * books (each book's newest round, created at this batch's `now`) and the pre-bookings they offered. Each
 * event names the holds' own end: quiet hours (rule 13) move a reader's hold to 09:00 in their time zone,
 * so the readers of one round whose holds end at different times are told in separate events.
 */
export const prebookOfferedEvents = (books: SQL, now: string) =>
	perUserChunks(
		"prebook.offered",
		now,
		sql`SELECT p.id AS prebook_id, p.user_id, r.id AS round_id, r.book_id, r.reason, r.offered_at, p.hold_expires_at
			FROM offer_rounds AS r JOIN pre_bookings AS p ON p.offer_round_id = r.id
			WHERE r.id IN (SELECT id FROM offer_rounds
				WHERE id IN (SELECT max(id) FROM offer_rounds WHERE book_id IN (${books}) GROUP BY book_id)
					AND created_at = ${now})`,
		sql`'book_id', book_id, 'offer_round_id', round_id, 'reason', reason, 'offered_at', offered_at,
			'hold_expires_at', hold_expires_at`,
		{ of: sql`round_id, hold_expires_at`, key: sql`round_id || ':' || hold_expires_at` },
	);

/**
 * Expiry batch, *before* its UPDATE and over the same selection of lapsed holds (`lapsed`: a SELECT of
 * pre-booking ids, ordered and limited the same way): `prebook.expired` for the holds the UPDATE expires.
 * Before, because afterwards this batch's rows cannot be told from an earlier batch's of the same book
 * in the same cron run (they share `expired_at`); in one transaction the two selections are the same rows.
 */
export const prebookExpiredEvents = (lapsed: SQL, at: string) =>
	perUserChunks(
		"prebook.expired",
		at,
		sql`SELECT p.id AS prebook_id, p.user_id, p.book_id FROM pre_bookings AS p
			WHERE p.id IN (${lapsed})`,
		sql`'book_id', book_id, 'expired_at', ${at}`,
		{ of: sql`book_id`, key: sql`min(prebook_id)` },
	);

/**
 * Checkout batch, after the UPDATE that fulfils the buyer's pre-bookings of the bought books: one
 * `prebook.fulfilled` per pre-booking (a cart holds each book once).
 */
export const prebookFulfilledEvents = (userId: number, orderItems: string, orderId: SQL, now: string) =>
	recordEvents(
		"prebook.fulfilled",
		now,
		sql`SELECT 'prebook.fulfilled',
			json_object('prebook_id', p.id, 'book_id', p.book_id, 'user_id', p.user_id, 'order_id', ${orderId},
				'fulfilled_at', p.fulfilled_at, 'restock_id', p.restock_id, 'offer_round_id', p.offer_round_id),
			'prebook.fulfilled:' || p.id, ${now}
		FROM pre_bookings AS p
		WHERE p.user_id = ${userId} AND p.status = 'fulfilled' AND p.fulfilled_at = ${now}
			AND p.book_id IN (SELECT value ->> 'book_id' FROM json_each(${orderItems}))`,
	);

/**
 * Before a pass's UPDATE, on the same condition (the pre-booking is offered and has passes left):
 * `prebook.passed` with the state the UPDATE gives it (`passes_left` one less, paused until `pausedUntil`).
 */
export const prebookPassedEvent = (passing: SQL, now: string, pausedUntil: string) =>
	recordEvents(
		"prebook.passed",
		now,
		sql`SELECT 'prebook.passed',
			json_object('prebook_id', p.id, 'book_id', p.book_id, 'user_id', p.user_id, 'passed_at', ${now},
				'passes_left', p.passes_left - 1, 'paused_until', ${pausedUntil}),
			'prebook.passed:' || p.id || ':' || (p.passes_left - 1), ${now}
		FROM pre_bookings AS p
		WHERE p.id IN (${passing})`,
	);

/** Before a draw's completion closes it: `draw.closed`, with the seed it publishes. */
export const drawClosedEvent = (drawId: number, now: string) =>
	recordEvents(
		"draw.closed",
		now,
		sql`SELECT 'draw.closed',
			json_object('draw_id', d.id, 'book_id', d.book_id, 'seed_commitment', d.seed_commitment, 'seed', d.seed,
				'copies', d.copies, 'entries', d.entries, 'closed_at', ${now}),
			'draw.closed:' || d.id, ${now}
		FROM draws AS d
		WHERE d.id = ${drawId} AND d.status = 'closing'`,
	);

/**
 * `demand.threshold_crossed` is recorded by a trigger (`line_demand_join_check`, migrations/0036, which the
 * counters' triggers `waiting_line_change_apply` and `work_line_change_apply` call), in the
 * statement that makes a book's waiting count reach its threshold, so no statement here inserts it. A batch
 * that can make a line grow (a pre-booking, a guest's confirmation, a pass, a deactivation, an edition's deletion) reads the books' crossing counts
 * before and after its change (`before` first in the batch, `after` last), and `crossedEvents` gives the
 * events of the crossings it made that wait for publication, to publish after the response like any other
 * (the cron relay publishes them otherwise).
 */
export const demandAlertWatch = (books: SQL) => ({
	before: rawQuery<{ book_id: number; crossings: number }>(sql`SELECT book_id, crossings FROM book_demand
		WHERE book_id IN (${books})`),
	after: rawQuery<{
		book_id: number;
		crossings: number;
		event_id: number | null;
		unpublished: number | null;
	}>(sql`
		SELECT d.book_id, d.crossings, e.id AS event_id, e.published_at IS NULL AS unpublished
		FROM book_demand AS d LEFT JOIN webhook_events AS e
			ON e.source_key = 'demand.threshold_crossed:' || d.book_id || ':' || d.crossings
		WHERE d.book_id IN (${books})`),
});

/** The threshold events a batch's `demandAlertWatch` saw it record, as `eventIdsOf` would give them. */
export function crossedEvents(
	before: { book_id: number; crossings: number }[],
	after: { book_id: number; crossings: number; event_id: number | null; unpublished: number | null }[],
): number[] {
	const earlier = new Map(before.map((row) => [row.book_id, row.crossings]));
	return after.flatMap((row) =>
		row.crossings > (earlier.get(row.book_id) ?? 0) && row.event_id !== null && row.unpublished
			? [row.event_id]
			: [],
	);
}

/** The events a batch recorded that wait for publication (a subscriber wants them), from its outbox results. */
export const eventIdsOf = (...results: { id: number; unpublished?: number }[][]): number[] =>
	results
		.flat()
		.filter((row) => row.unpublished !== 0)
		.map((row) => row.id);
