/**
 * Publishing a notice or an offer round page by page, so that neither a request nor a consumer ever holds
 * a whole line (API.md rule 14: a line of 1,000,000 stays within the Workers limits).
 *
 * The engine's batch marks the readers (notified or offered) without returning them, and reads back only
 * their count and the first page of their ids (`PUBLICATION_PAGE`, in `user_id` order). After the commit
 * the request puts that page on `prebook-notifications`. When the unit has more readers, the request hands
 * the rest to `prebook-publication` with the place it got to (no D1 round trip: the request's one batch
 * stays its only one): each message of that queue publishes up to `PAGES_PER_STEP` more pages, moving the
 * unit's cursor in D1 after each page (the move reads the next page in the same round trip: one round trip
 * a page), and queues the next step; the step that finds no more readers confirms the unit
 * (`published_at`).
 *
 * Each reader is put on the queue once: a page starts after the cursor the previous page left. A step
 * that dies between a page's `sendBatch` and its cursor move repeats that page once it is retried, and the
 * email consumer's delivery ledger makes the repeat harmless. A publication that stopped moving for the
 * relay's grace period (its step lost, the queue refusing) is taken over by the cron relay (sweeps.ts) from
 * its cursor.
 */
import { sql } from "drizzle-orm";
import { z } from "zod";
import { batch, mapGroup, namedGroup, noStatement, rawQuery, type StatementGroup } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import type { Effects } from "../../lib/effects.ts";
import { describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import {
	type Notification,
	PREBOOK_NOTIFIED,
	PREBOOK_OFFERED,
	publishPrebookMessages,
} from "../../prebook-emails/messages.ts";
import { eventIdsOf, notifiedEventsOfPage, type RecordedEvent } from "../webhooks/webhook-events.ts";
import { publishWebhookEvents } from "../webhooks/webhook-publication.ts";

/**
 * Readers per page: 100 queue messages of 100 ids, one `sendBatch` (a few more messages, and a second
 * call, when a round's readers' holds end at different times: quiet hours). It bounds what a request (the
 * first page) and a publication step hold at once.
 */
export const PUBLICATION_PAGE = 10_000;

/** Pages one `prebook-publication` message publishes before it hands on to the next message. */
export const PAGES_PER_STEP = 10;

/** The queues a publication writes to: the readers', its own next steps', the webhook deliveries'. */
export type PublicationQueues = Pick<Effects, "notificationQueue" | "publicationQueue" | "webhookQueue">;

/** A unit of publication: a notice (a restock record; its waves follow each other) or an offer round. */
export interface PublicationUnit {
	kind: "notice" | "offer_round";
	id: number;
}

/** A `prebook-publication` message: the unit, and where the request that queued it got to. */
export interface PublicationStep extends PublicationUnit {
	after?: Cursor;
}

/** Where the next page starts: after this (`notified_at`, `user_id`) of a notice, this `user_id` of a round. */
export interface Cursor {
	at: string | null;
	userId: number | null;
}

interface Page {
	/** The unit's book (null when the unit has no reader after the cursor). */
	bookId: number | null;
	readers: { at: string; userId: number }[];
	/** The cursor the page was read after (compared when the page is done, so two publishers never both move it). */
	after: Cursor;
}

/**
 * The statements that read the unit's cursor and the page of readers after it (and after `from`, where a
 * step's message says the request got to before the cursor moved): a batch's part, read as a `Page`.
 */
function pageOf(unit: PublicationUnit, from: Cursor | undefined): StatementGroup<Page> {
	if (unit.kind === "notice") {
		const pastFrom = from
			? sql`AND (p.notified_at, p.user_id) > (${from.at ?? ""}, ${from.userId ?? 0})`
			: sql``;
		return mapGroup(
			namedGroup({
				cursor: rawQuery<{ at: string | null; user_id: number | null }>(sql`
					SELECT publish_cursor_at AS at, publish_cursor_user_id AS user_id FROM restocks WHERE id = ${unit.id}`),
				// (restock_id, notified_at, user_id) is idx_pre_bookings_restock_notice: an index range, no sort.
				readers: rawQuery<{ book_id: number; at: string; user_id: number }>(sql`
					SELECT p.book_id, p.notified_at AS at, p.user_id
					FROM restocks AS r JOIN pre_bookings AS p ON p.restock_id = r.id
					WHERE r.id = ${unit.id}
						AND (p.notified_at, p.user_id) > (coalesce(r.publish_cursor_at, ''), coalesce(r.publish_cursor_user_id, 0))
						${pastFrom}
					ORDER BY p.notified_at, p.user_id
					LIMIT ${PUBLICATION_PAGE}`),
			}),
			({ cursor, readers }) => ({
				bookId: readers[0]?.book_id ?? null,
				readers: readers.map((row) => ({ at: row.at, userId: row.user_id })),
				after: { at: cursor[0]?.at ?? null, userId: cursor[0]?.user_id ?? null },
			}),
		);
	}
	const pastFrom = from ? sql`AND p.user_id > ${from.userId ?? 0}` : sql``;
	return mapGroup(
		namedGroup({
			cursor: rawQuery<{ user_id: number | null }>(sql`
				SELECT publish_cursor_user_id AS user_id FROM offer_rounds WHERE id = ${unit.id}`),
			readers: rawQuery<{ book_id: number; hold_expires_at: string; user_id: number }>(sql`
				SELECT r.book_id, p.hold_expires_at, p.user_id
				FROM offer_rounds AS r JOIN pre_bookings AS p ON p.offer_round_id = r.id
				WHERE r.id = ${unit.id} AND p.user_id > coalesce(r.publish_cursor_user_id, 0) ${pastFrom}
				ORDER BY p.user_id
				LIMIT ${PUBLICATION_PAGE}`),
		}),
		({ cursor, readers }) => ({
			bookId: readers[0]?.book_id ?? null,
			readers: readers.map((row) => ({ at: row.hold_expires_at, userId: row.user_id })),
			after: { at: null, userId: cursor[0]?.user_id ?? null },
		}),
	);
}

/**
 * Puts readers on `prebook-notifications`, grouped by `at`: a notice's `notified_at` (its waves), a round's
 * readers' hold end (the round's, or 09:00 in a reader's zone: quiet hours, rule 13), so each message names
 * its readers' own. `readers` are in cursor order; each group keeps it.
 */
export async function putOnQueue(
	queue: Queue,
	unit: PublicationUnit,
	bookId: number,
	readers: { at: string; userId: number }[],
): Promise<{ messages: number; batches: number }> {
	// By `at`, not by runs of it: a round's hold ends alternate with its readers' zones in user id order.
	const groups = new Map<string, number[]>();
	for (const { at, userId } of readers) {
		const group = groups.get(at);
		if (group) group.push(userId);
		else groups.set(at, [userId]);
	}
	const notifications = [...groups].map(
		([at, recipients]): Notification => ({
			envelope:
				unit.kind === "notice"
					? { type: PREBOOK_NOTIFIED, book_id: bookId, restock_id: unit.id, notified_at: at }
					: { type: PREBOOK_OFFERED, book_id: bookId, offer_round_id: unit.id, hold_expires_at: at },
			recipients,
		}),
	);
	return publishPrebookMessages(queue, notifications);
}

const table = (unit: PublicationUnit) => sql.raw(unit.kind === "notice" ? "restocks" : "offer_rounds");

/**
 * Moves the unit's cursor to `to` (and confirms it when `done`), only if it is still where `from` says;
 * `moved` is false when another publisher moved it first (this one then stops). A notice's move records
 * the `prebook.notified` events of its readers from `from` to `to` in the same batch, unless the restock's
 * own batch recorded them (a notice of one page: policies.ts): so each reader's event is recorded once, by
 * whoever moves the cursor past it, and the events of a line of a million are built a page at a time after
 * the restock answered. With `readNext`, the same round trip then reads the next page (after the move).
 */
async function moveCursor(
	db: Db,
	unit: PublicationUnit,
	from: Cursor,
	to: Cursor,
	done: boolean,
	readNext: boolean,
): Promise<{ moved: boolean; eventIds: number[]; next: Page | null }> {
	const now = new Date().toISOString();
	const atColumn = unit.kind === "notice" ? sql`, publish_cursor_at = ${to.at}` : sql``;
	const cursorAtFrom =
		unit.kind === "notice"
			? sql`publish_cursor_at IS ${from.at} AND publish_cursor_user_id IS ${from.userId}`
			: sql`publish_cursor_user_id IS ${from.userId}`;
	const moving = namedGroup({
		events:
			unit.kind === "notice"
				? notifiedEventsOfPage(
						unit.id,
						from,
						to,
						sql`EXISTS (SELECT 1 FROM restocks WHERE id = ${unit.id} AND ${cursorAtFrom})`,
						PUBLICATION_PAGE,
						now,
					)
				: noStatement<RecordedEvent>(),
		moved: rawQuery<{ id: number }>(sql`UPDATE ${table(unit)}
			SET publish_cursor_user_id = ${to.userId} ${atColumn}, publish_moved_at = ${now},
				published_at = CASE WHEN ${done ? 1 : 0} AND NOT ${readersAfter(unit, to)}
					THEN coalesce(published_at, ${now}) ELSE published_at END
			WHERE id = ${unit.id} AND ${cursorAtFrom}
			RETURNING id`),
	});
	const moved = (move: { events: RecordedEvent[]; moved: { id: number }[] }, next: Page | null) => ({
		moved: move.moved.length > 0,
		eventIds: eventIdsOf(move.events),
		next,
	});
	if (!readNext) return moved((await batch(db, { move: moving })).move, null);
	const { move, next } = await batch(db, { move: moving, next: pageOf(unit, undefined) });
	return moved(move, next);
}

/**
 * Whether the unit has readers after `to`: a notice's record may have got a later wave meanwhile (its own
 * request publishes it, but the record is confirmed only once the cursor has passed every reader).
 */
const readersAfter = (unit: PublicationUnit, to: Cursor) =>
	unit.kind === "notice"
		? sql`EXISTS (SELECT 1 FROM pre_bookings AS later WHERE later.restock_id = ${unit.id}
			AND (later.notified_at, later.user_id) > (${to.at ?? ""}, ${to.userId ?? 0}))`
		: sql`0`;

/**
 * Confirms a notice the request published whole, by moving its cursor past its readers (from where the
 * batch saw it): a later wave of the same record then knows they are published. Nothing when another
 * publisher moved the cursor meanwhile (it goes on from there).
 */
export async function confirmThrough(
	db: Db,
	queues: Pick<PublicationQueues, "webhookQueue">,
	unit: PublicationUnit,
	from: Cursor,
	to: Cursor,
): Promise<void> {
	const { moved, eventIds } = await moveCursor(db, unit, from, to, true, false);
	if (moved) await publishPageEvents(db, queues.webhookQueue, unit, eventIds);
}

/** The cursor after the last of `readers`. */
export const cursorAfter = (unit: PublicationUnit, readers: { at: string; userId: number }[]): Cursor => {
	const last = readers[readers.length - 1];
	return { at: unit.kind === "notice" ? (last?.at ?? null) : null, userId: last?.userId ?? null };
};

/**
 * Publishes up to `pages` pages of the unit from its cursor (or from `from`, when that is further). Returns
 * `done` when the unit is confirmed (no reader left), `more` when readers remain (and where it got to),
 * `taken` when another publisher moved the cursor meanwhile.
 */
export async function publishPages(
	db: Db,
	queues: PublicationQueues,
	unit: PublicationUnit,
	pages: number,
	from?: Cursor,
): Promise<{ state: "done" | "more" | "taken"; published: number; messages: number }> {
	let published = 0;
	let messages = 0;
	// One round trip for the first page, then one a page: each cursor move reads the next page with it.
	let page: Page | null = (await batch(db, { page: pageOf(unit, from) })).page;
	for (let n = 0; page; n++) {
		const { bookId, readers, after } = page;
		const done = readers.length < PUBLICATION_PAGE;
		if (bookId !== null)
			messages += (await putOnQueue(queues.notificationQueue, unit, bookId, readers)).messages;
		published += readers.length;
		const to = readers.length > 0 ? cursorAfter(unit, readers) : after;
		const { moved, eventIds, next } = await moveCursor(db, unit, after, to, done, !done && n + 1 < pages);
		if (!moved) return { state: "taken", published, messages };
		await publishPageEvents(db, queues.webhookQueue, unit, eventIds);
		if (done) return { state: "done", published, messages };
		page = next;
	}
	return { state: "more", published, messages };
}

/**
 * Publishes the webhook events a page recorded; a failure is logged and left to the webhook relay (the
 * events are committed, unpublished), never the publication's failure.
 */
async function publishPageEvents(db: Db, webhookQueue: Queue, unit: PublicationUnit, eventIds: number[]) {
	if (eventIds.length === 0) return;
	try {
		await publishWebhookEvents(db, webhookQueue, eventIds);
	} catch (err) {
		logEvent("error", "publication_events_publish_failed", {
			unit: unit.kind,
			id: unit.id,
			events: eventIds.length,
			error: describeError(err),
		});
	}
}

/** Hands the rest of a unit's publication to `prebook-publication` (after `after`, when the cursor is behind). */
export const continueLater = (publicationQueue: Queue, unit: PublicationUnit, after?: Cursor) =>
	publicationQueue.send(
		{ kind: unit.kind, id: unit.id, ...(after ? { after } : {}) } satisfies PublicationStep,
		{ contentType: "json" },
	);

export const publicationStep = z.object({
	kind: z.enum(["notice", "offer_round"]),
	id: z.number().int().positive(),
	after: z.object({ at: z.string().nullable(), userId: z.number().int().nullable() }).optional(),
});

/**
 * One `prebook-publication` step of a unit: up to `PAGES_PER_STEP` pages, and the next step queued while
 * readers remain. Rejects when the queue or D1 failed (the caller retries the message; the cursor says
 * where to go on).
 */
export async function publishStep(
	db: Db,
	queues: PublicationQueues,
	{ after, ...unit }: z.infer<typeof publicationStep>,
): Promise<void> {
	const { state, published, messages } = await publishPages(db, queues, unit, PAGES_PER_STEP, after);
	if (state === "more") await continueLater(queues.publicationQueue, unit);
	logEvent("info", "publication_step", { unit: unit.kind, id: unit.id, published, messages, state });
}
