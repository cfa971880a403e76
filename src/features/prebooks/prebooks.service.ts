/**
 * Pre-bookings: the rules (API.md, Pre-bookings) on the caller's side, and the admin's view of the lines.
 * A pre-booking names a book (an edition) or a work (any edition of an accepted format).
 *  1. a book can be pre-booked only while its available copies (`stock − held`) are 0; a work only while
 *     no accepted edition has any;
 *  2. one active (waiting or offered) pre-booking per user and book, and per user and work (partial unique
 *     indexes); a book pre-booking and a work pre-booking accepting that book are duplicates both ways,
 *     decided inside the insert;
 *  3. at most 100 waiting pre-bookings per user.
 * Who gets the copies when they come back is decided by the allocation engine (features/allocation).
 */
import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import {
	type AllocationReason,
	books,
	emailTokens,
	type Format,
	type PrebookStatus,
	preBookings,
	users,
	works,
} from "../../db/schema.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import { batch, type Db, namedGroup, rawQuery } from "../../lib/db.ts";
import { AppError, bookNotFound, rateLimited } from "../../lib/errors.ts";
import { type NewestFirstCursor, newestFirstAfter } from "../../lib/pagination.ts";
import { hashToken, newSecretToken } from "../../lib/tokens.ts";
import { allocate, linesOf } from "../allocation/engine.ts";
import {
	AHEAD_CAP,
	acceptsBook,
	aheadInLine,
	aheadOf,
	aliases,
	formatBit,
	maskOf,
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

export const MAX_WAITING_PER_USER = 100;

const prebookNotFound = () => new AppError("PREBOOK_NOT_FOUND", "No pre-booking with this id", "id");
const duplicate = (field: "book_id" | "work_id" = "book_id") =>
	new AppError(
		"PREBOOK_DUPLICATE",
		field === "book_id"
			? "You already have an active pre-booking for this book (or for its work, in this format)"
			: "You already have an active pre-booking for this work or for one of the editions you accept",
		field,
	);
const inStock = (field: "book_id" | "work_id") =>
	new AppError(
		"PREBOOK_BOOK_IN_STOCK",
		field === "book_id"
			? "This book is in stock: buy it instead"
			: "An edition of this work you accept is in stock: buy it instead",
		field,
	);
const workNotFound = () => new AppError("WORK_NOT_FOUND", "No work with this id", "work_id");
const limitReached = (field: "book_id" | "work_id") =>
	new AppError(
		"PREBOOK_LIMIT_REACHED",
		`You already have ${MAX_WAITING_PER_USER} waiting pre-bookings`,
		field,
	);

/** A work pre-booking without `formats` takes its editions' formats: a work without editions needs them. */
const noFormats = () => {
	const detail = "This work has no editions yet: name the formats you accept";
	return new AppError("VALIDATION_ERROR", detail, "formats", { errors: [{ field: "formats", detail }] });
};

/** What a pre-booking names: one edition, or a work and the formats accepted (default: its editions'). */
export type PrebookTarget = { bookId: number } | { workId: number; formats?: readonly Format[] };

/** The bit mask of a work's editions' formats (the default of `formats`), as SQL. */
const formatsOfEditions = (workId: SQL | number) => sql`(SELECT coalesce(sum(bit), 0) FROM (
	SELECT DISTINCT ${formatBit(sql.raw("e"))} AS bit FROM books AS e WHERE e.work_id = ${workId}))`;

/** A target as SQL values (the guest confirmation reads them from its link inside the batch). */
type TargetSql = { bookId: SQL } | { workId: SQL; mask: SQL };

const targetSql = (target: PrebookTarget): TargetSql =>
	"bookId" in target
		? { bookId: sql`${target.bookId}` }
		: {
				workId: sql`${target.workId}`,
				mask: target.formats ? sql`${maskOf(target.formats)}` : formatsOfEditions(sql`w.id`),
			};

/**
 * The INSERT … SELECT of a pre-booking for user `user` (SQL naming the user row `u`, with its conditions in
 * `userWhere`): every rule is a condition of the statement, so a restock or a duplicate committing between
 * a read and the write can never slip past. Rule 1 (nothing available), rule 2 across books and works (the
 * partial unique indexes keep each kind unique; the NOT EXISTS keep a book and a work accepting it apart),
 * rule 3 (the limit).
 */
function insertPrebook(target: TargetSql, userWhere: SQL, now: string) {
	const underLimit = sql`(SELECT count(*) FROM pre_bookings WHERE user_id = u.id AND status = 'waiting')
		< ${MAX_WAITING_PER_USER}`;
	if ("bookId" in target) {
		return sql`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
			SELECT u.id, b.id, 'waiting', ${now} FROM users AS u JOIN books AS b ON b.id = ${target.bookId}
			WHERE ${userWhere} AND b.stock_quantity - b.held_quantity = 0 AND ${underLimit}
				AND NOT EXISTS (SELECT 1 FROM pre_bookings AS wp
					WHERE wp.user_id = u.id AND wp.work_id = b.work_id AND wp.status IN ('waiting', 'offered')
						AND (wp.formats_mask & ${formatBit(sql.raw("b"))}) <> 0)
			ON CONFLICT DO NOTHING
			RETURNING id`;
	}
	return sql`INSERT INTO pre_bookings (user_id, work_id, formats_mask, status, created_at)
		SELECT u.id, w.id, m.mask, 'waiting', ${now}
		FROM users AS u JOIN works AS w ON w.id = ${target.workId} JOIN (SELECT ${target.mask} AS mask FROM works AS w
			WHERE w.id = ${target.workId}) AS m
		WHERE ${userWhere} AND m.mask > 0 AND ${underLimit}
			AND NOT EXISTS (SELECT 1 FROM books AS e WHERE e.work_id = w.id AND e.stock_quantity > e.held_quantity
				AND (m.mask & ${formatBit(sql.raw("e"))}) <> 0)
			AND NOT EXISTS (SELECT 1 FROM pre_bookings AS bp JOIN books AS e ON e.id = bp.book_id
				WHERE bp.user_id = u.id AND bp.status IN ('waiting', 'offered') AND e.work_id = w.id
					AND (m.mask & ${formatBit(sql.raw("e"))}) <> 0)
		ON CONFLICT DO NOTHING
		RETURNING id`;
}

/**
 * Why `insertPrebook` added nothing, read in the same transaction (the contract's precedence: unknown
 * book or work, in stock, duplicate, limit), as SQL over user `u`.
 */
function diagnosePrebook(target: TargetSql, user: SQL) {
	const waiting = sql`(SELECT count(*) FROM pre_bookings WHERE user_id = ${user} AND status = 'waiting')`;
	if ("bookId" in target) {
		return rawQuery<{ found: number; available: number; active: number; waiting: number; mask: number }>(sql`
			SELECT 1 AS found, b.stock_quantity - b.held_quantity AS available, 1 AS mask,
				EXISTS (SELECT 1 FROM pre_bookings AS o WHERE o.user_id = ${user} AND o.status IN ('waiting', 'offered')
					AND (o.book_id = b.id OR (o.work_id = b.work_id AND (o.formats_mask & ${formatBit(sql.raw("b"))}) <> 0))) AS active,
				${waiting} AS waiting
			FROM books AS b WHERE b.id = ${target.bookId}`);
	}
	return rawQuery<{ found: number; available: number; active: number; waiting: number; mask: number }>(sql`
		SELECT 1 AS found, m.mask AS mask,
			(SELECT count(*) FROM books AS e WHERE e.work_id = w.id AND e.stock_quantity > e.held_quantity
				AND (m.mask & ${formatBit(sql.raw("e"))}) <> 0) AS available,
			(EXISTS (SELECT 1 FROM pre_bookings AS o WHERE o.user_id = ${user} AND o.work_id = w.id
					AND o.status IN ('waiting', 'offered'))
				OR EXISTS (SELECT 1 FROM pre_bookings AS bp JOIN books AS e ON e.id = bp.book_id
					WHERE bp.user_id = ${user} AND bp.status IN ('waiting', 'offered') AND e.work_id = w.id
						AND (m.mask & ${formatBit(sql.raw("e"))}) <> 0)) AS active,
			${waiting} AS waiting
		FROM works AS w JOIN (SELECT ${target.mask} AS mask FROM works AS w WHERE w.id = ${target.workId}) AS m
		WHERE w.id = ${target.workId}`);
}

/** The refusal a diagnosis names (an empty diagnosis: the book or work does not exist). */
function refusalOf(
	target: PrebookTarget,
	state: { available: number; active: number; waiting: number; mask: number } | undefined,
): AppError {
	const field = "bookId" in target ? "book_id" : "work_id";
	if (!state) {
		return "bookId" in target ? bookNotFound("book_id") : workNotFound();
	}
	if (state.mask === 0) return noFormats();
	if (state.available > 0) return inStock(field);
	if (state.active) return duplicate(field);
	if (state.waiting >= MAX_WAITING_PER_USER) return limitReached(field);
	return duplicate(field);
}

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
const prebookViews = (db: Db, now = new Date().toISOString(), cap = AHEAD_CAP) =>
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
			// The last draw it took part in (idx_draw_entries_prebook), as JSON.
			lastDraw: sql<string | null>`(SELECT json_object('draw_id', e.draw_id, 'won', e.won)
				FROM draw_entries AS e WHERE e.prebook_id = ${preBookings.id} ORDER BY e.draw_id DESC LIMIT 1)`,
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
 * One round trip. Every rule is a condition of the INSERT itself (`insertPrebook`), so a restock
 * committing between a read and the write can never leave a waiting row beside available copies, nor two
 * parallel requests make duplicates. When the INSERT adds nothing, the diagnostic SELECT (same transaction,
 * same view) says which rule refused, in the contract's precedence: unknown book or work, in stock,
 * duplicate, limit.
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
	throw refusalOf(target, diagnosis[0]);
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
export const PASS_PAUSE_MS = 7 * 24 * 60 * 60 * 1000;

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
				offered_at = NULL, hold_expires_at = NULL, offer_round_id = NULL,
				-- A work pre-booking waits again for any edition it accepts (the passed one included).
				book_id = CASE WHEN work_id IS NULL THEN book_id END
			WHERE id IN (${passing})
			RETURNING id`),
		allocation: allocateLineOf(userId, id, "pass", now),
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

/**
 * Guest confirmation links: 24 hours. At most 3 an hour and 10 a day to one address, whoever asks (API.md,
 * Auth: an address that asked for nothing is not bombed; beyond, nothing is sent and the answer is the same
 * 202), and 20 an hour from one network (429: that is the asker's own limit).
 */
export const GUEST_LINK_TTL_MS = 24 * 60 * 60 * 1000;
export const GUEST_LINKS_PER_ADDRESS_PER_HOUR = 3;
export const GUEST_LINKS_PER_ADDRESS_PER_DAY = 10;
export const GUEST_LINKS_PER_NETWORK_PER_HOUR = 20;
const HOUR_MS = 60 * 60 * 1000;

/** A guest confirmation to email: the link's token, until when it works, and who reads it. */
export interface GuestLinkRequest {
	title: string;
	/** Null when the address has had its confirmation emails for now: nothing is sent. */
	link: { token: string; expiresAt: string; reader: { locale: string; timeZone: string } } | null;
}

/**
 * `POST /prebooks/guest`, one round trip: a confirmation link for (address, book), if the book exists, has
 * no available copy, and the limits allow — all conditions of the INSERT, so parallel requests cannot
 * overshoot them. Whether the address has an account changes nothing here (no enumeration): the link
 * decides at confirmation. `link` is null when the address has had its emails for now: the caller sends
 * nothing and answers as if it had. The links are the ledger: a day of them is all the limits read, and
 * the cron purges them when they expire.
 */
export async function requestGuestPrebook(
	db: Db,
	/** `locale`: the asking request's language, used when the address has no account. */
	request: { email: string; target: PrebookTarget; network: string; locale: string },
): Promise<GuestLinkRequest> {
	const token = newSecretToken();
	const now = new Date();
	const hourAgo = new Date(now.getTime() - HOUR_MS).toISOString();
	const dayAgo = new Date(now.getTime() - 24 * HOUR_MS).toISOString();
	const toAddressSince = (since: string) => sql`(SELECT count(*) FROM email_tokens
		WHERE email = ${request.email} AND purpose = 'guest_prebook' AND created_at > ${since})`;
	// A request without a usable client address counts in one shared "" bucket: never unlimited.
	const fromNetwork = sql`email_tokens WHERE network = ${request.network} AND purpose = 'guest_prebook'
		AND created_at > ${hourAgo}`;
	const { target } = request;
	const limits = sql`(SELECT count(*) FROM ${fromNetwork}) < ${GUEST_LINKS_PER_NETWORK_PER_HOUR}
		AND ${toAddressSince(hourAgo)} < ${GUEST_LINKS_PER_ADDRESS_PER_HOUR}
		AND ${toAddressSince(dayAgo)} < ${GUEST_LINKS_PER_ADDRESS_PER_DAY}`;
	const link = sql`${await hashToken(token)}, 'guest_prebook', ${request.email}`;
	const times = sql`${request.network}, ${now.toISOString()}, ${new Date(now.getTime() + GUEST_LINK_TTL_MS).toISOString()}`;
	// The formats are resolved when the link is confirmed (the work's editions of that moment by default).
	const mask = "bookId" in target || !target.formats ? null : maskOf(target.formats);
	// The address's account speaks for its reader when there is one; else the asker's language, UTC.
	const locale = sql`coalesce((SELECT locale FROM users WHERE email = ${request.email}), ${request.locale})`;
	const timeZone = sql`coalesce((SELECT time_zone FROM users WHERE email = ${request.email}), 'UTC')`;
	const { issued, diagnosis } = await batch(db, {
		// In the language of the address's account when it has one (its preferences), else the asker's.
		issued: rawQuery<{ locale: string; expires_at: string }>(
			"bookId" in target
				? sql`INSERT INTO email_tokens
						(token_hash, purpose, email, book_id, network, created_at, expires_at, locale)
					SELECT ${link}, id, ${times}, ${locale}
					FROM books WHERE id = ${target.bookId} AND stock_quantity - held_quantity = 0 AND ${limits}
					RETURNING locale, expires_at`
				: sql`INSERT INTO email_tokens
						(token_hash, purpose, email, work_id, formats_mask, network, created_at, expires_at, locale)
					SELECT ${link}, w.id, ${mask}, ${times}, ${locale}
					FROM works AS w WHERE w.id = ${target.workId} AND ${limits}
						AND coalesce(${mask}, ${formatsOfEditions(sql`w.id`)}) > 0
						AND NOT EXISTS (SELECT 1 FROM books AS e WHERE e.work_id = w.id
							AND e.stock_quantity > e.held_quantity
							AND (coalesce(${mask}, ${formatsOfEditions(sql`w.id`)}) & ${formatBit(sql.raw("e"))}) <> 0)
					RETURNING locale, expires_at`,
		),
		// Which rule refused (same transaction): the book's or work's, then the network's; else the address's.
		diagnosis: rawQuery<{
			title: string;
			available: number;
			no_formats: number;
			from_network: number;
			oldest: string | null;
			time_zone: string;
		}>(
			"bookId" in target
				? sql`SELECT title, stock_quantity - held_quantity AS available, 0 AS no_formats,
						(SELECT count(*) FROM ${fromNetwork}) AS from_network,
						(SELECT min(created_at) FROM ${fromNetwork}) AS oldest, ${timeZone} AS time_zone
					FROM books WHERE id = ${target.bookId}`
				: sql`SELECT w.title, (SELECT count(*) FROM books AS e WHERE e.work_id = w.id
							AND e.stock_quantity > e.held_quantity
							AND (coalesce(${mask}, ${formatsOfEditions(sql`w.id`)}) & ${formatBit(sql.raw("e"))}) <> 0) AS available,
						coalesce(${mask}, ${formatsOfEditions(sql`w.id`)}) = 0 AS no_formats,
						(SELECT count(*) FROM ${fromNetwork}) AS from_network,
						(SELECT min(created_at) FROM ${fromNetwork}) AS oldest, ${timeZone} AS time_zone
					FROM works AS w WHERE w.id = ${target.workId}`,
		),
	});
	const field = "bookId" in target ? "book_id" : "work_id";
	const found = diagnosis[0];
	if (!found) {
		throw "bookId" in target ? bookNotFound("book_id") : workNotFound();
	}
	if (found.available > 0) throw inStock(field);
	if (found.no_formats) throw noFormats();
	const issuedLink = issued[0];
	if (issuedLink) {
		const reader = { locale: issuedLink.locale, timeZone: found.time_zone };
		return { title: found.title, link: { token, expiresAt: issuedLink.expires_at, reader } };
	}
	if (found.from_network >= GUEST_LINKS_PER_NETWORK_PER_HOUR) {
		const oldest = found.oldest ? Date.parse(found.oldest) : now.getTime();
		throw rateLimited(
			"Too many confirmation emails from here; try again later",
			oldest + HOUR_MS,
			now.getTime(),
		);
	}
	return { title: found.title, link: null };
}

/**
 * `POST /prebooks/guest/confirm`, one round trip. Following the link proves the address: a new address
 * gets a passwordless guest account, and the pre-booking is created under the same rules as `createPrebook`
 * — evaluated inside the statements — on the account of that address. A registered account that is not
 * verified yet is left alone (400): the link proves the mailbox, not that whoever registered the address
 * (and holds its password) is its owner, so it neither verifies that account nor puts the owner's
 * pre-booking where the registrant can read it.
 *
 * The link is single use: every statement acts only on a link still unused, and the last one spends it
 * (`used_at IS NULL` in its own WHERE). Batches do not interleave, so of two confirmations of one link the
 * first does the work and spends it, and the second finds it used — 400, nothing created, also long after
 * (a replay once the guest cancelled makes no new pre-booking).
 */
export async function confirmGuestPrebook(
	db: Db,
	token: string,
	/** A new guest account's language: the confirming request's, else the one the link was issued in. */
	locale: string | null = null,
): Promise<{ prebook: PrebookView; outcome: Outcome }> {
	const now = new Date().toISOString();
	const tokenHash = await hashToken(token);
	const unused = sql`token_hash = ${tokenHash} AND purpose = 'guest_prebook' AND expires_at > ${now}
		AND used_at IS NULL`;
	const link = sql`SELECT email, book_id, work_id, formats_mask, locale FROM email_tokens WHERE ${unused}`;
	const owner = sql`(SELECT id FROM users WHERE email = (SELECT email FROM (${link})))`;
	const bookOfLink = sql`(SELECT book_id FROM (${link}))`;
	const workOfLink = sql`(SELECT work_id FROM (${link}))`;
	// A link names a book or a work: the other target is NULL, and its statements match nothing.
	const bookTarget: TargetSql = { bookId: bookOfLink };
	const workTarget: TargetSql = {
		workId: workOfLink,
		mask: sql`coalesce((SELECT formats_mask FROM (${link})), ${formatsOfEditions(sql`w.id`)})`,
	};
	const trusted = sql`u.id = ${owner} AND u.is_active = 1 AND u.email_verified = 1`;
	// The link's book or its work's editions, used or not (it is spent before `after` reads).
	const demand = demandAlertWatch(
		sql`SELECT book_id FROM email_tokens WHERE token_hash = ${tokenHash} AND purpose = 'guest_prebook'
			UNION SELECT e.id FROM email_tokens AS t JOIN books AS e ON e.work_id = t.work_id
			WHERE t.token_hash = ${tokenHash} AND t.purpose = 'guest_prebook'`,
	);
	const { demandBefore, insertedBook, insertedWork, created, diagnosis, bookState, workState, demandAfter } =
		await batch(db, {
			// The line grows by one: the demand alert's trigger may record a crossing (webhook-events.ts).
			demandBefore: demand.before,
			guestAccount: rawQuery(sql`INSERT INTO users
				(email, password_hash, is_guest, email_verified, locale, created_at, updated_at)
			SELECT email, '!guest', 1, 1, coalesce(${locale}, locale, 'en'), ${now}, ${now} FROM (${link}) WHERE true
			ON CONFLICT (email) DO NOTHING`),
			insertedBook: rawQuery<{ id: number }>(insertPrebook(bookTarget, trusted, now)),
			insertedWork: rawQuery<{ id: number }>(insertPrebook(workTarget, trusted, now)),
			created: prebookViews(db)
				.where(
					and(
						sql`${preBookings.userId} = ${owner}`,
						eq(preBookings.status, "waiting"),
						sql`((${preBookings.bookId} = ${bookOfLink} AND ${preBookings.workId} IS NULL)
						OR (${preBookings.workId} = ${workOfLink} AND ${preBookings.bookId} IS NULL))`,
					),
				)
				.orderBy(desc(preBookings.id))
				.limit(1),
			// Why a genuine link made no pre-booking, in POST /prebooks' precedence (same transaction, before
			// the link is spent).
			diagnosis: rawQuery<{
				link_valid: number;
				active: number | null;
				verified: number | null;
				work: number;
			}>(sql`
			SELECT EXISTS (${link}) AS link_valid,
				(SELECT is_active FROM users WHERE id = ${owner}) AS active,
				(SELECT email_verified FROM users WHERE id = ${owner}) AS verified,
				${workOfLink} IS NOT NULL AS work`),
			bookState: diagnosePrebook(bookTarget, owner),
			workState: diagnosePrebook(workTarget, owner),
			// Spent whatever the outcome: a duplicate (rule 2's index) inserts nothing rather than failing the batch.
			spent: rawQuery(sql`UPDATE email_tokens SET used_at = ${now} WHERE ${unused}`),
			demandAfter: demand.after,
		});
	if ((insertedBook.length > 0 || insertedWork.length > 0) && created[0]) {
		return {
			prebook: created[0],
			outcome: outcomeOf({ webhookEventIds: crossedEvents(demandBefore, demandAfter) }),
		};
	}
	const state = diagnosis[0];
	if (!state?.link_valid || state.active !== 1) throw invalidGuestLink();
	if (state.verified !== 1) {
		throw new AppError("AUTH_INVALID_TOKEN", ACCOUNT_NOT_VERIFIED, "token", { status: 400 });
	}
	// Which target the link named decides which diagnosis speaks (ids only matter for the field names).
	throw state.work ? refusalOf({ workId: 0 }, workState[0]) : refusalOf({ bookId: 0 }, bookState[0]);
}

/** Why a live guest link made nothing: its address belongs to a registered account not verified yet. */
export const ACCOUNT_NOT_VERIFIED =
	"This address belongs to an account that is not verified: reset its password (POST /auth/password/forgot) or finish a sign-up of the address, then pre-book signed in";

const invalidGuestLink = () =>
	new AppError("AUTH_INVALID_TOKEN", "This link is unknown, used or expired", "token", { status: 400 });

/**
 * A guest confirmation link, for the page behind it, or null when unknown (never issued, or purged after it
 * expired): the language it was issued in (the page speaks it, a refusal too) and, only while it can still
 * be used (unused, not expired), the address and the book's title. A read, nothing changes (mail scanners
 * follow links).
 */
export async function guestLinkOf(
	db: Db,
	token: string,
): Promise<{ locale: string | null; usable: { email: string; title: string } | null } | null> {
	const [link] = await db
		.select({
			email: emailTokens.email,
			title: sql<string>`coalesce(${books.title}, ${works.title})`,
			locale: emailTokens.locale,
			usable: sql<number>`${emailTokens.usedAt} IS NULL AND ${emailTokens.expiresAt} > ${new Date().toISOString()}`,
		})
		.from(emailTokens)
		// A link names a book or a work.
		.leftJoin(books, eq(books.id, emailTokens.bookId))
		.leftJoin(works, eq(works.id, emailTokens.workId))
		.where(and(eq(emailTokens.tokenHash, await hashToken(token)), eq(emailTokens.purpose, "guest_prebook")));
	if (!link) return null;
	return { locale: link.locale, usable: link.usable ? { email: link.email, title: link.title } : null };
}
