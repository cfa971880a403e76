/**
 * Pre-bookings, the reader's side: make one (under the rules of rules.ts), list and read them with their
 * place in line, cancel, pause, resume, pass an offer; and the admin's view of a book's line (`bookLine`).
 * A guest's pre-booking through an emailed link is guest-prebooks.service.ts; the demand report is the
 * insights feature's. Who gets the copies when they come back is decided by the allocation engine
 * (features/allocation).
 */ import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import {
	type AllocationReason,
	books,
	type PrebookStatus,
	preBookings,
	users,
	works,
} from "../../db/schema.ts";
import { batch, namedGroup, rawQuery } from "../../lib/batch.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, bookNotFound } from "../../lib/errors.ts";
import { type NewestFirstCursor, newestFirstAfter } from "../../lib/pagination.ts";
import { allocate, linesOf } from "../allocation/engine.ts";
import {
	AHEAD_CAP,
	acceptsBook,
	aheadInLine,
	aheadOf,
	aliases,
	forgetHandedBackRounds,
	measureLines,
	onHoldReason,
	prebookOnHoldReason,
} from "../allocation/line.ts";
import { type Outcome, outcomeOf } from "../allocation/outcome.ts";
import {
	crossedEvents,
	demandAlertWatch,
	eventIdsOf,
	prebookPassedEvent,
} from "../webhooks/webhook-events.ts";
import { parseLineMeasures } from "./place.ts";
import type { LineEntryView, PrebookView } from "./prebooks.schemas.ts";
import { diagnosePrebook, fieldOf, insertPrebook, type PrebookTarget, refuse, targetSql } from "./rules.ts";

const prebookNotFound = () => new AppError("PREBOOK_NOT_FOUND", "No pre-booking with this id", "id");

/** The caller's pre-booking of `target` that the insert just made (the newest active one). */
const newestOf = (target: PrebookTarget) =>
	"bookId" in target
		? and(eq(preBookings.bookId, target.bookId), sql`${preBookings.workId} IS NULL`)
		: and(eq(preBookings.workId, target.workId), sql`${preBookings.bookId} IS NULL`);

/** Column references of `pre_bookings`, `users` and `books` as the views below join them. */
const lineRow = aliases("pre_bookings", "users", "books");

/**
 * Pre-bookings with their book's title and author, their place in line and why they are passed over, as
 * of `now` (a builder: add where/order).
 */
export const prebookViews = (db: Db, now = new Date().toISOString(), cap = AHEAD_CAP) =>
	db
		.select({
			id: preBookings.id,
			bookId: preBookings.bookId,
			workId: preBookings.workId,
			formatsMask: preBookings.formatsMask,
			// A work pre-booking is titled by its work (API.md).
			bookTitle: sql<string>`coalesce(${works.title}, ${books.title}, '')`,
			bookAuthor: sql<string>`coalesce(${works.author}, ${books.author}, '')`,
			status: preBookings.status,
			aheadJson: aheadInLine(lineRow, now, cap),
			aheadCap: sql<number>`${cap}`.mapWith(Number),
			// Rule 12's inputs for each edition it waits for (its book; a work pre-booking's every accepted
			// edition): the policy, the pending supply, restocks of the last 365 days and offers. The estimate
			// reads the one `position` is taken from (bestPlace).
			editionsJson: sql<string | null>`CASE WHEN ${preBookings.status} = 'waiting' THEN (
				SELECT json_group_array(json_object('book_id', e.id, 'allocation', e.allocation,
					'inbound', json((SELECT json_group_array(json_array(i.quantity, i.expected_at))
						-- An overdue shipment (expected before now, not received) promises nothing: it is left out,
						-- as the demand report leaves it out of inbound_quantity.
						FROM (SELECT quantity, expected_at FROM inbound_shipments
							WHERE book_id = e.id AND received_at IS NULL AND expected_at >= ${now}
							ORDER BY expected_at) AS i)),
					'history', json((SELECT json_object('n', count(*), 'first', min(created_at), 'last', max(created_at),
							'copies', coalesce(sum(quantity_after - quantity_before), 0))
						FROM restocks WHERE book_id = e.id AND reason = 'restock'
							AND created_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '-365 days'))),
					'offers', json((SELECT json_object('offers', count(*), 'bought', coalesce(sum(o.status = 'fulfilled'), 0))
						FROM offer_rounds AS r JOIN pre_bookings AS o ON o.offer_round_id = r.id
						WHERE r.book_id = e.id))))
				FROM books AS e WHERE e.id IN (SELECT ${preBookings.bookId}
					UNION ALL SELECT a.id FROM books AS a WHERE ${acceptsBook(sql.raw("pre_bookings"), sql.raw("a"))}))
			END`,
			pausedUntil: sql<
				string | null
			>`CASE WHEN ${preBookings.pausedUntil} > ${now} THEN ${preBookings.pausedUntil} END`,
			passesLeft: preBookings.passesLeft,
			onHoldReason: prebookOnHoldReason(lineRow, now),
			// The last draw it took part in (idx_draw_entries_prebook), as JSON: a decided one — a draw being
			// scored is shown open (GET /books/{id}/draws), and its entries' `won` is not known yet — of a book
			// that is still a lottery (API.md: null on other books; after a switch its copies go by line order),
			// and for a work pre-booking given an edition, of that edition (another edition's draw did not give it).
			lastDraw: sql<string | null>`(SELECT json_object('draw_id', e.draw_id, 'won', e.won)
				FROM draw_entries AS e JOIN draws AS d ON d.id = e.draw_id AND d.status = 'closed'
					JOIN books AS lottery ON lottery.id = d.book_id AND lottery.allocation = 'lottery'
				WHERE e.prebook_id = ${preBookings.id}
					AND (${preBookings.bookId} IS NULL OR d.book_id = ${preBookings.bookId})
				ORDER BY e.draw_id DESC LIMIT 1)`,
			createdAt: preBookings.createdAt,
			notifiedAt: preBookings.notifiedAt,
			offeredAt: preBookings.offeredAt,
			holdExpiresAt: preBookings.holdExpiresAt,
			fulfilledAt: preBookings.fulfilledAt,
			expiredAt: preBookings.expiredAt,
			cancelledAt: preBookings.cancelledAt,
		})
		.from(preBookings)
		.leftJoin(books, eq(books.id, preBookings.bookId))
		.leftJoin(works, eq(works.id, preBookings.workId))
		.innerJoin(users, eq(users.id, preBookings.userId))
		.$dynamic();

/**
 * One round trip. Every rule is a condition of the INSERT itself (`insertPrebook`, rules.ts), so a
 * restock committing between a read and the write can never leave a waiting row beside available copies,
 * nor two parallel requests make duplicates. When the INSERT adds nothing, the diagnostic SELECT (same
 * transaction, same view) says which rule refused, in the contract's precedence (`refuse`): unknown book or
 * work, in stock, duplicate, limit.
 */
export async function createPrebook(
	db: Db,
	userId: number,
	target: PrebookTarget,
): Promise<{ prebook: PrebookView; outcome: Outcome }> {
	const now = new Date().toISOString();
	// A book's line grows by one (a work pre-booking's: each edition it accepts, among its work's editions).
	const demand = demandAlertWatch(
		"bookId" in target
			? sql`SELECT ${target.bookId}`
			: sql`SELECT id FROM books WHERE work_id = ${target.workId}`,
	);
	const { demandBefore, inserted, created, diagnosis, demandAfter } = await batch(db, {
		// The demand alert's trigger may record a crossing (webhook-events.ts).
		demandBefore: demand.before,
		inserted: rawQuery<{ id: number }>(insertPrebook(targetSql(target), sql`u.id = ${userId}`, now)),
		created: prebookViews(db)
			.where(and(eq(preBookings.userId, userId), newestOf(target), eq(preBookings.status, "waiting")))
			.orderBy(desc(preBookings.id))
			.limit(1),
		diagnosis: diagnosePrebook(targetSql(target), sql`${userId}`),
		demandAfter: demand.after,
	});
	if (inserted.length > 0 && created[0]) {
		return {
			prebook: created[0],
			outcome: outcomeOf({ webhookEventIds: crossedEvents(demandBefore, demandAfter) }),
		};
	}
	refuse(fieldOf(target), diagnosis[0]);
}

export function listPrebooks(
	db: Db,
	userId: number,
	query: { status?: PrebookStatus; after?: NewestFirstCursor; limit: number },
	/** How many members ahead a read counts per part of a line (tests lower it). */
	cap = AHEAD_CAP,
) {
	return prebookViews(db, undefined, cap)
		.where(
			and(
				eq(preBookings.userId, userId),
				query.status ? eq(preBookings.status, query.status) : undefined,
				newestFirstAfter(preBookings.createdAt, preBookings.id, query.after),
			),
		)
		.orderBy(desc(preBookings.createdAt), desc(preBookings.id))
		.limit(query.limit + 1);
}

/** Another user's pre-booking is "not found": its existence is not revealed. */
export async function getPrebook(db: Db, userId: number, id: number): Promise<PrebookView> {
	const [row] = await prebookViews(db).where(and(eq(preBookings.id, id), eq(preBookings.userId, userId)));
	if (!row) throw prebookNotFound();
	return row;
}

/**
 * The engine for the lines of the caller's pre-booking `id`, named inside the batch: its book's, or for a
 * waiting work pre-booking every edition it accepts.
 */
const allocateLineOf = (userId: number, id: number, reason: AllocationReason, now: string) =>
	allocate(linesOf(sql`SELECT id FROM pre_bookings WHERE id = ${id} AND user_id = ${userId}`), reason, now);

/**
 * The statements that cancel a user's active pre-booking and run the engine for its book (a held copy
 * goes to the next in line), for a caller's batch (`POST` cancel, one-click unsubscribe).
 */
export function cancelStatements(db: Db, userId: number, id: number, now: string) {
	return namedGroup({
		cancelled: db
			.update(preBookings)
			.set({ status: "cancelled", cancelledAt: now })
			.where(
				and(
					eq(preBookings.id, id),
					eq(preBookings.userId, userId),
					sql`${preBookings.status} IN ('waiting', 'notified', 'offered')`,
				),
			)
			.returning({ id: preBookings.id, bookId: preBookings.bookId }),
		allocation: allocateLineOf(userId, id, "cancel", now),
	});
}

/**
 * Soft cancel, one round trip: the row stays with status `cancelled`. A waiting, notified or offered
 * pre-booking may be cancelled; an offered one's held copy goes to the next in line in the same batch.
 * Only the owner's pre-booking matches (another user's is "not found").
 */
export async function cancelPrebook(db: Db, userId: number, id: number): Promise<Outcome> {
	const { cancel, current } = await withUniqueNow((now) =>
		batch(db, {
			cancel: cancelStatements(db, userId, id, now),
			current: db
				.select({ status: preBookings.status })
				.from(preBookings)
				.where(and(eq(preBookings.id, id), eq(preBookings.userId, userId))),
		}),
	);
	if (cancel.cancelled.length > 0) return cancel.allocation;
	const status = current[0]?.status;
	if (status === undefined) throw prebookNotFound();
	if (status === "cancelled") {
		throw new AppError("PREBOOK_ALREADY_CANCELLED", "This pre-booking is already cancelled", "id");
	}
	throw new AppError("PREBOOK_CLOSED", `This pre-booking is ${status} and can no longer be cancelled`, "id");
}

/** How long a pass keeps the reader paused (API.md, pass): the copy goes on, they keep their place. */
const PASS_PAUSE_MS = 7 * 24 * 60 * 60 * 1000;

/** The caller's pre-booking, as its view, read in a batch after a change (another user's is absent). */
const ownView = (db: Db, userId: number, id: number, now: string) =>
	prebookViews(db, now).where(and(eq(preBookings.id, id), eq(preBookings.userId, userId)));

/**
 * `POST /prebooks/{id}/pause`, one round trip: a waiting pre-booking is passed over until `until` (rule 4)
 * and keeps its place. Nothing is freed, so the engine has nothing to do; the pause ends by itself (the
 * cron's `endLapsedPauses`) or by `resume`.
 */
export async function pausePrebook(db: Db, userId: number, id: number, until: string): Promise<PrebookView> {
	const now = new Date().toISOString();
	const { paused, view } = await batch(db, {
		paused: rawQuery<{
			id: number;
		}>(sql`UPDATE pre_bookings SET paused_until = ${new Date(until).toISOString()}
			WHERE id = ${id} AND user_id = ${userId} AND status = 'waiting'
			RETURNING id`),
		view: ownView(db, userId, id, now),
	});
	const prebook = view[0];
	if (!prebook) throw prebookNotFound();
	if (paused.length === 0) {
		throw new AppError(
			"PREBOOK_NOT_WAITING",
			`This pre-booking is ${prebook.status}: only a waiting one can be paused`,
			"id",
		);
	}
	return prebook;
}

/**
 * `POST /prebooks/{id}/resume`, one round trip: the pause ends now and the engine serves the line in the
 * same batch (a copy left beside the paused reader goes to them if they are next).
 */
export async function resumePrebook(
	db: Db,
	userId: number,
	id: number,
): Promise<{ prebook: PrebookView; outcome: Outcome }> {
	const { resumed, allocation, view } = await withUniqueNow((now) =>
		batch(db, {
			resumed: rawQuery<{ id: number }>(sql`UPDATE pre_bookings SET paused_until = NULL
			WHERE id = ${id} AND user_id = ${userId} AND status = 'waiting' AND paused_until > ${now}
			RETURNING id`),
			allocation: allocateLineOf(userId, id, "eligible", now),
			view: ownView(db, userId, id, now),
		}),
	);
	const prebook = view[0];
	if (!prebook) throw prebookNotFound();
	if (resumed.length === 0) throw new AppError("PREBOOK_NOT_PAUSED", "This pre-booking is not paused", "id");
	return { prebook, outcome: allocation };
}

/** The pass's one batch at `now` (it pauses the reader until `now` plus the pass's pause). */
function passBatch(
	db: Db,
	userId: number,
	id: number,
	passing: SQL,
	demand: ReturnType<typeof demandAlertWatch>,
	now: string,
) {
	const pausedUntil = new Date(Date.parse(now) + PASS_PAUSE_MS).toISOString();
	return batch(db, {
		// Back in line: the demand alert's trigger may record a crossing (webhook-events.ts).
		demandBefore: demand.before,
		passedEvent: prebookPassedEvent(passing, now, pausedUntil),
		passed: rawQuery<{ id: number }>(sql`UPDATE pre_bookings
			SET status = 'waiting', passes_left = passes_left - 1, paused_until = ${pausedUntil},
				offered_at = NULL, hold_expires_at = NULL,
				-- A work pre-booking waits again for any edition it accepts (the passed one included).
				book_id = CASE WHEN work_id IS NULL THEN book_id END
			WHERE id IN (${passing})
			RETURNING id`),
		// Its offer round, kept until here, puts the passed copy's book in the engine's scope (line.ts).
		allocation: allocateLineOf(userId, id, "pass", now),
		roundForgotten: rawQuery(forgetHandedBackRounds(sql`SELECT ${id}`)),
		view: ownView(db, userId, id, now),
		demandAfter: demand.after,
	});
}

/**
 * `POST /prebooks/{id}/pass`, one round trip: an offered pre-booking goes back to `waiting` — its place
 * kept, paused for 7 days, one pass spent — and the engine gives its held copy to the next in line in the
 * same batch. Every condition (offered, passes left) is part of the UPDATE.
 */
export async function passOffer(
	db: Db,
	userId: number,
	id: number,
): Promise<{ prebook: PrebookView; outcome: Outcome }> {
	const passing = sql`SELECT id FROM pre_bookings
		WHERE id = ${id} AND user_id = ${userId} AND status = 'offered' AND passes_left > 0`;
	// The offered edition, and for a work pre-booking every edition of its work (it rejoins each line).
	const demand = demandAlertWatch(
		sql`SELECT book_id FROM pre_bookings WHERE id = ${id} AND user_id = ${userId}
			UNION SELECT e.id FROM pre_bookings AS p JOIN books AS e ON e.work_id = p.work_id
			WHERE p.id = ${id} AND p.user_id = ${userId}`,
	);
	const { demandBefore, passedEvent, passed, allocation, view, demandAfter } = await withUniqueNow((now) =>
		passBatch(db, userId, id, passing, demand, now),
	);
	const prebook = view[0];
	if (!prebook) throw prebookNotFound();
	if (passed.length > 0) {
		return {
			prebook,
			outcome: outcomeOf(allocation, {
				webhookEventIds: [...eventIdsOf(passedEvent), ...crossedEvents(demandBefore, demandAfter)],
			}),
		};
	}
	if (prebook.status !== "offered") {
		throw new AppError(
			"PREBOOK_NOT_OFFERED",
			`This pre-booking is ${prebook.status}: only an offer can be passed`,
			"id",
		);
	}
	throw new AppError(
		"PREBOOK_PASS_LIMIT",
		"This pre-booking has no passes left: buy the copy or let it go",
		"id",
	);
}

/**
 * A page of a book's whole line (every status unless filtered), in line order (`created_at`, `id`), with
 * each waiting row's position: the book's own pre-bookings and the work pre-bookings that accept it (those
 * still without an edition; one given this edition is the book's own from then on). One round trip: the
 * page (each part a walk of its index that stops at the page size), the servable waiting members before it
 * (so positions are a running count, not a count per row) and the book's existence. The members before the
 * page are measured as `position` is (`measureLines`: bounded walks, beyond the cap from the book's waiting
 * counter), or given by the caller that read the pages before (`servableBefore`, the CSV export: exact).
 */
export async function bookLine(
	db: Db,
	bookId: number,
	query: {
		status?: PrebookStatus;
		after?: { at: string; id: number };
		limit: number;
		/** The servable waiting members before `after`, when the caller counted them on earlier pages. */
		servableBefore?: number;
	},
	cap = AHEAD_CAP,
): Promise<LineEntryView[]> {
	const now = new Date().toISOString();
	const row = aliases("p", "u", "b");
	const status = query.status ? sql`AND p.status = ${query.status}` : sql``;
	const after = query.after ? sql`AND (p.created_at, p.id) > (${query.after.at}, ${query.after.id})` : sql``;
	const page = (member: SQL) => sql`SELECT * FROM (
		SELECT p.id AS id, p.user_id AS userId, u.email AS email, p.status AS status,
			${onHoldReason(row, now)} AS onHoldReason, p.created_at AS createdAt, p.notified_at AS notifiedAt,
			p.offered_at AS offeredAt, p.hold_expires_at AS holdExpiresAt, p.fulfilled_at AS fulfilledAt
		FROM books AS b NOT INDEXED CROSS JOIN pre_bookings AS p JOIN users AS u ON u.id = p.user_id
		WHERE b.id = ${bookId} AND ${member} ${status} ${after}
		ORDER BY p.created_at, p.id LIMIT ${query.limit + 1})`;
	// Everything up to and including the cursor's row is before the page (ids are integers).
	const before =
		query.after && query.servableBefore === undefined
			? measureLines(
					{
						me: sql`(${query.after.at}, ${query.after.id + 0.5})`,
						lines: sql`ahead_b.id = ${bookId}`,
						self: sql`0`,
					},
					now,
					cap,
				)
			: sql`NULL`;
	const { rows, ahead, book } = await batch(db, {
		rows: rawQuery<Omit<LineEntryView, "position">>(sql`SELECT * FROM (
				${page(sql`p.book_id = b.id`)}
				UNION ALL
				${page(acceptsBook(sql.raw("p"), sql.raw("b")))})
			ORDER BY createdAt, id LIMIT ${query.limit + 1}`),
		// The members not passed over before this page: positions continue from there.
		ahead: rawQuery<{ lines: string | null }>(sql`SELECT ${before} AS lines`),
		book: db.select({ allocation: books.allocation }).from(books).where(eq(books.id, bookId)),
	});
	if (!book[0]) throw bookNotFound();
	// A lottery's line has no order: nobody has a position there.
	const ordered = book[0].allocation !== "lottery";
	const measured = ahead[0]?.lines;
	let position =
		query.servableBefore ?? (measured ? (aheadOf(parseLineMeasures(measured), cap)?.active ?? 0) : 0);
	return rows.map((row) => ({
		...row,
		position: ordered && row.status === "waiting" && row.onHoldReason === null ? ++position : null,
	}));
}
