/**
 * Pre-bookings: the rules (API.md, Pre-bookings) on the caller's side, and the admin's view of the lines.
 *  1. a book can be pre-booked only while its available copies (`stock − held`) are 0;
 *  2. one active (waiting or offered) pre-booking per user and book (partial unique index
 *     uq_pre_bookings_user_book_active);
 *  3. at most 100 waiting pre-bookings per user.
 * Who gets the copies when they come back is decided by the allocation engine (features/allocation).
 */
import { and, asc, count, desc, eq, gt, isNull, type SQL, sql } from "drizzle-orm";
import {
	type AllocationReason,
	books,
	emailTokens,
	type PrebookStatus,
	preBookings,
	users,
} from "../../db/schema.ts";
import { batch, constraintViolation, type Db, namedGroup, rawQuery } from "../../lib/db.ts";
import { AppError, rateLimited } from "../../lib/errors.ts";
import { type NewestFirstCursor, newestFirstAfter } from "../../lib/pagination.ts";
import { hashToken, newSecretToken } from "../../lib/tokens.ts";
import { allocateBook } from "../allocation/engine.ts";
import { aheadInLine, aliases, onHoldReason, servable } from "../allocation/line.ts";
import { type Outcome, outcomeOf } from "../allocation/outcome.ts";
import { conversionRate as conversionRateOf } from "../insights/insights.schemas.ts";
import { STORE_BOOK_ID } from "../insights/insights.service.ts";
import {
	crossedEvents,
	demandAlertWatch,
	eventIdsOf,
	prebookPassedEvent,
} from "../webhooks/webhook-events.ts";
import {
	CONVERSION_WINDOW_DAYS,
	type DemandView,
	type LineEntryView,
	MIN_OWN_CONVERSION_HISTORY,
	type PrebookView,
	suggestedOrderQuantity,
} from "./prebooks.schemas.ts";

export const MAX_WAITING_PER_USER = 100;

const prebookNotFound = () => new AppError("PREBOOK_NOT_FOUND", "No pre-booking with this id", "id");
const duplicate = () =>
	new AppError("PREBOOK_DUPLICATE", "You already have an active pre-booking for this book", "book_id");

/** Column references of `pre_bookings`, `users` and `books` as the views below join them. */
const lineRow = aliases("pre_bookings", "users", "books");

/**
 * Pre-bookings with their book's title and author, their place in line and why they are passed over, as
 * of `now` (a builder: add where/order).
 */
const prebookViews = (db: Db, now = new Date().toISOString()) =>
	db
		.select({
			id: preBookings.id,
			bookId: preBookings.bookId,
			bookTitle: books.title,
			bookAuthor: books.author,
			status: preBookings.status,
			allocation: books.allocation,
			aheadJson: aheadInLine(lineRow, now),
			// The book's pending supply, restocks of the last 365 days and offers (rule 12's inputs).
			inboundJson: sql<string>`(SELECT json_group_array(json_array(i.quantity, i.expected_at))
				FROM (SELECT quantity, expected_at FROM inbound_shipments
					WHERE book_id = ${preBookings.bookId} AND received_at IS NULL ORDER BY expected_at) AS i)`,
			historyJson: sql<string>`(SELECT json_object('n', count(*), 'first', min(created_at), 'last', max(created_at),
					'copies', coalesce(sum(quantity_after - quantity_before), 0))
				FROM restocks WHERE book_id = ${preBookings.bookId} AND reason = 'restock'
					AND created_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '-365 days'))`,
			offersJson: sql<string>`(SELECT json_object('offers', count(*), 'bought', coalesce(sum(o.status = 'fulfilled'), 0))
				FROM offer_rounds AS r JOIN pre_bookings AS o ON o.offer_round_id = r.id
				WHERE r.book_id = ${preBookings.bookId})`,
			pausedUntil: sql<
				string | null
			>`CASE WHEN ${preBookings.pausedUntil} > ${now} THEN ${preBookings.pausedUntil} END`,
			passesLeft: preBookings.passesLeft,
			onHoldReason: onHoldReason(lineRow, now),
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
		.innerJoin(books, eq(books.id, preBookings.bookId))
		.innerJoin(users, eq(users.id, preBookings.userId))
		.$dynamic();

/**
 * One round trip. Rules 1 and 3 are conditions of the INSERT itself, so a restock committing between a
 * read and the write can never leave a waiting row on a book with available copies; rule 2 is the unique
 * index. When the INSERT adds nothing, the diagnostic SELECT (same transaction, same view) says which
 * rule refused, in the contract's precedence: unknown book, in stock, duplicate, limit.
 */
export async function createPrebook(
	db: Db,
	userId: number,
	bookId: number,
): Promise<{ prebook: PrebookView; outcome: Outcome }> {
	const now = new Date().toISOString();
	const demand = demandAlertWatch(sql`SELECT ${bookId}`);
	const { demandBefore, inserted, created, diagnosis, demandAfter } = await batch(db, {
		// The line grows by one: the demand alert's trigger may record a crossing (webhook-events.ts).
		demandBefore: demand.before,
		inserted: rawQuery<{ id: number }>(sql`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
			SELECT ${userId}, id, 'waiting', ${now} FROM books
			WHERE id = ${bookId} AND stock_quantity - held_quantity = 0
				AND (SELECT count(*) FROM pre_bookings WHERE user_id = ${userId} AND status = 'waiting')
					< ${MAX_WAITING_PER_USER}
			RETURNING id`),
		created: prebookViews(db)
			.where(and(eq(preBookings.userId, userId), eq(preBookings.bookId, bookId)))
			.orderBy(desc(preBookings.id))
			.limit(1),
		// When nothing was inserted: which rule refused.
		diagnosis: db
			.select({
				availableQuantity: sql<number>`${books.stockQuantity} - ${books.heldQuantity}`,
				hasActive: sql<number>`EXISTS (SELECT 1 FROM pre_bookings
					WHERE user_id = ${userId} AND book_id = ${bookId} AND status IN ('waiting', 'offered'))`,
				waiting: sql<number>`(SELECT count(*) FROM pre_bookings WHERE user_id = ${userId} AND status = 'waiting')`,
			})
			.from(books)
			.where(eq(books.id, bookId)),
		demandAfter: demand.after,
	}).catch((err: unknown) => {
		if (constraintViolation(err)?.kind === "unique") throw duplicate();
		throw err;
	});
	if (inserted.length > 0 && created[0]) {
		return {
			prebook: created[0],
			outcome: outcomeOf({ webhookEventIds: crossedEvents(demandBefore, demandAfter) }),
		};
	}
	const book = diagnosis[0];
	if (!book) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "book_id");
	if (book.availableQuantity > 0) {
		throw new AppError("PREBOOK_BOOK_IN_STOCK", "This book is in stock: buy it instead", "book_id");
	}
	if (book.hasActive) throw duplicate();
	if (book.waiting >= MAX_WAITING_PER_USER) {
		throw new AppError(
			"PREBOOK_LIMIT_REACHED",
			`You already have ${MAX_WAITING_PER_USER} waiting pre-bookings`,
			"book_id",
		);
	}
	throw new Error("pre-booking insert refused for no known reason");
}

export function listPrebooks(
	db: Db,
	userId: number,
	query: { status?: PrebookStatus; after?: NewestFirstCursor; limit: number },
) {
	return prebookViews(db)
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

/** The engine for the line of the caller's pre-booking `id` (its book, named inside the batch). */
const allocateLineOf = (userId: number, id: number, reason: AllocationReason, now: string) =>
	allocateBook(sql`SELECT book_id FROM pre_bookings WHERE id = ${id} AND user_id = ${userId}`, reason, now);

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
	const now = new Date().toISOString();
	const { cancel, current } = await batch(db, {
		cancel: cancelStatements(db, userId, id, now),
		current: db
			.select({ status: preBookings.status })
			.from(preBookings)
			.where(and(eq(preBookings.id, id), eq(preBookings.userId, userId))),
	});
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
	const now = new Date().toISOString();
	const { resumed, allocation, view } = await batch(db, {
		resumed: rawQuery<{ id: number }>(sql`UPDATE pre_bookings SET paused_until = NULL
			WHERE id = ${id} AND user_id = ${userId} AND status = 'waiting' AND paused_until > ${now}
			RETURNING id`),
		allocation: allocateLineOf(userId, id, "eligible", now),
		view: ownView(db, userId, id, now),
	});
	const prebook = view[0];
	if (!prebook) throw prebookNotFound();
	if (resumed.length === 0) throw new AppError("PREBOOK_NOT_PAUSED", "This pre-booking is not paused", "id");
	return { prebook, outcome: allocation };
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
	const now = new Date().toISOString();
	const pausedUntil = new Date(Date.parse(now) + PASS_PAUSE_MS).toISOString();
	const passing = sql`SELECT id FROM pre_bookings
		WHERE id = ${id} AND user_id = ${userId} AND status = 'offered' AND passes_left > 0`;
	const demand = demandAlertWatch(
		sql`SELECT book_id FROM pre_bookings WHERE id = ${id} AND user_id = ${userId}`,
	);
	const { demandBefore, passedEvent, passed, allocation, view, demandAfter } = await batch(db, {
		// Back in line: the demand alert's trigger may record a crossing (webhook-events.ts).
		demandBefore: demand.before,
		passedEvent: prebookPassedEvent(passing, now, pausedUntil),
		passed: rawQuery<{ id: number }>(sql`UPDATE pre_bookings
			SET status = 'waiting', passes_left = passes_left - 1, paused_until = ${pausedUntil},
				offered_at = NULL, hold_expires_at = NULL, offer_round_id = NULL
			WHERE id IN (${passing})
			RETURNING id`),
		allocation: allocateLineOf(userId, id, "pass", now),
		view: ownView(db, userId, id, now),
		demandAfter: demand.after,
	});
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
 * Books by number of waiting pre-bookings, most first, with the buy signal (API.md, the demand report).
 * One statement: the ranking walks idx_pre_bookings_book_waiting_line grouped by book and keeps the top
 * `limit`; only those books then read their offers, pending inbound supply and the last 365 days of their
 * daily insight counters (a row per day at most), and the store's counters are read once.
 */
export async function waitingDemand(db: Db, limit: number): Promise<DemandView[]> {
	const since = new Date(Date.now() - (CONVERSION_WINDOW_DAYS - 1) * 24 * 60 * 60 * 1000)
		.toISOString()
		.slice(0, 10);
	const told = (bookId: SQL) =>
		sql`(SELECT coalesce(sum(notified + offered), 0) FROM prebook_daily WHERE book_id = ${bookId} AND day >= ${since})`;
	const bought = (bookId: SQL) =>
		sql`(SELECT coalesce(sum(fulfilled), 0) FROM prebook_daily WHERE book_id = ${bookId} AND day >= ${since})`;
	const store = sql`${STORE_BOOK_ID}`;
	const [rows] = await batch(db, [
		rawQuery<{
			book_id: number;
			title: string;
			author: string;
			stock_quantity: number;
			held_quantity: number;
			waiting_count: number;
			offered_count: number;
			inbound_quantity: number;
			told: number;
			bought: number;
			store_told: number;
			store_bought: number;
		}>(sql`SELECT b.id AS book_id, b.title, b.author, b.stock_quantity, b.held_quantity, top.waiting_count,
				(SELECT count(*) FROM pre_bookings AS o WHERE o.book_id = b.id AND o.status = 'offered') AS offered_count,
				(SELECT coalesce(sum(quantity), 0) FROM inbound_shipments
					WHERE book_id = b.id AND received_at IS NULL) AS inbound_quantity,
				${told(sql`b.id`)} AS told, ${bought(sql`b.id`)} AS bought,
				store.told AS store_told, store.bought AS store_bought
			FROM (SELECT book_id, count(*) AS waiting_count FROM pre_bookings
					WHERE status = 'waiting' AND book_id IS NOT NULL
					-- Grouping by the indexed column walks the partial index in order (no temporary B-tree).
					GROUP BY book_id ORDER BY waiting_count DESC, book_id LIMIT ${limit}) AS top
				JOIN books AS b ON b.id = top.book_id
				CROSS JOIN (SELECT ${told(store)} AS told, ${bought(store)} AS bought) AS store
			ORDER BY top.waiting_count DESC, b.id`),
	]);
	return rows.map((row) => {
		// The book's own rate once it has enough history, else the store's (API.md).
		const own = row.told >= MIN_OWN_CONVERSION_HISTORY;
		const conversionRate = own
			? conversionRateOf(row.bought, row.told)
			: conversionRateOf(row.store_bought, row.store_told);
		const availableQuantity = row.stock_quantity - row.held_quantity;
		return {
			bookId: row.book_id,
			title: row.title,
			author: row.author,
			stockQuantity: row.stock_quantity,
			heldQuantity: row.held_quantity,
			waitingCount: row.waiting_count,
			offeredCount: row.offered_count,
			inboundQuantity: row.inbound_quantity,
			conversionRate,
			suggestedOrderQuantity: suggestedOrderQuantity({
				waiting: row.waiting_count,
				conversionRate,
				available: availableQuantity,
				inbound: row.inbound_quantity,
			}),
		};
	});
}

/**
 * A page of a book's whole line (every status unless filtered), in line order (`created_at`, `id`), with
 * each waiting row's position. One round trip: the page, the number of waiting rows before it (so
 * positions are a running count, not a count per row), and the book's existence.
 */
export async function bookLine(
	db: Db,
	bookId: number,
	query: { status?: PrebookStatus; after?: { at: string; id: number }; limit: number },
): Promise<LineEntryView[]> {
	const now = new Date().toISOString();
	const after: SQL | undefined = query.after
		? sql`(${preBookings.createdAt}, ${preBookings.id}) > (${query.after.at}, ${query.after.id})`
		: undefined;
	const { rows, ahead, book } = await batch(db, {
		rows: db
			.select({
				id: preBookings.id,
				userId: preBookings.userId,
				email: users.email,
				status: preBookings.status,
				onHoldReason: onHoldReason(lineRow, now),
				createdAt: preBookings.createdAt,
				notifiedAt: preBookings.notifiedAt,
				offeredAt: preBookings.offeredAt,
				holdExpiresAt: preBookings.holdExpiresAt,
				fulfilledAt: preBookings.fulfilledAt,
			})
			.from(preBookings)
			.innerJoin(users, eq(users.id, preBookings.userId))
			.innerJoin(books, eq(books.id, preBookings.bookId))
			.where(
				and(
					eq(preBookings.bookId, bookId),
					query.status ? eq(preBookings.status, query.status) : undefined,
					after,
				),
			)
			.orderBy(asc(preBookings.createdAt), asc(preBookings.id))
			.limit(query.limit + 1),
		// The members not passed over before this page: positions continue from there.
		ahead: db
			.select({ servable: count() })
			.from(preBookings)
			.innerJoin(users, eq(users.id, preBookings.userId))
			.innerJoin(books, eq(books.id, preBookings.bookId))
			.where(
				and(
					eq(preBookings.bookId, bookId),
					eq(preBookings.status, "waiting"),
					sql`${servable(lineRow, now)}`,
					query.after
						? sql`(${preBookings.createdAt}, ${preBookings.id}) <= (${query.after.at}, ${query.after.id})`
						: sql`0`,
				),
			),
		book: db.select({ allocation: books.allocation }).from(books).where(eq(books.id, bookId)),
	});
	if (!book[0]) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "id");
	// A lottery's line has no order: nobody has a position there.
	const ordered = book[0].allocation !== "lottery";
	let position = ahead[0]?.servable ?? 0;
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
	request: { email: string; bookId: number; network: string; locale: string },
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
	const { issued, diagnosis } = await batch(db, {
		// In the language of the address's account when it has one (its preferences), else the asker's.
		issued: rawQuery<{ locale: string; expires_at: string }>(sql`INSERT INTO email_tokens
				(token_hash, purpose, email, book_id, network, locale, created_at, expires_at)
			SELECT ${await hashToken(token)}, 'guest_prebook', ${request.email}, id, ${request.network},
				coalesce((SELECT locale FROM users WHERE email = ${request.email}), ${request.locale}),
				${now.toISOString()}, ${new Date(now.getTime() + GUEST_LINK_TTL_MS).toISOString()}
			FROM books WHERE id = ${request.bookId} AND stock_quantity - held_quantity = 0
				AND (SELECT count(*) FROM ${fromNetwork}) < ${GUEST_LINKS_PER_NETWORK_PER_HOUR}
				AND ${toAddressSince(hourAgo)} < ${GUEST_LINKS_PER_ADDRESS_PER_HOUR}
				AND ${toAddressSince(dayAgo)} < ${GUEST_LINKS_PER_ADDRESS_PER_DAY}
			RETURNING locale, expires_at`),
		// Which rule refused (same transaction): the book's, then the network's; else the address's.
		diagnosis: db
			.select({
				title: books.title,
				availableQuantity: sql<number>`${books.stockQuantity} - ${books.heldQuantity}`,
				fromNetwork: sql<number>`(SELECT count(*) FROM ${fromNetwork})`,
				oldestFromNetwork: sql<string | null>`(SELECT min(created_at) FROM ${fromNetwork})`,
				timeZone: sql<string>`coalesce((SELECT time_zone FROM users WHERE email = ${request.email}), 'UTC')`,
			})
			.from(books)
			.where(eq(books.id, request.bookId)),
	});
	const book = diagnosis[0];
	if (!book) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "book_id");
	if (book.availableQuantity > 0) {
		throw new AppError("PREBOOK_BOOK_IN_STOCK", "This book is in stock: buy it instead", "book_id");
	}
	const link = issued[0];
	if (link) {
		const reader = { locale: link.locale, timeZone: book.timeZone };
		return { title: book.title, link: { token, expiresAt: link.expires_at, reader } };
	}
	if (book.fromNetwork >= GUEST_LINKS_PER_NETWORK_PER_HOUR) {
		const oldest = book.oldestFromNetwork ? Date.parse(book.oldestFromNetwork) : now.getTime();
		throw rateLimited(
			"Too many confirmation emails from here; try again later",
			oldest + HOUR_MS,
			now.getTime(),
		);
	}
	return { title: book.title, link: null };
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
	const link = sql`SELECT email, book_id, locale FROM email_tokens WHERE ${unused}`;
	const owner = sql`(SELECT id FROM users WHERE email = (SELECT email FROM (${link})))`;
	const bookOfLink = sql`(SELECT book_id FROM (${link}))`;
	// The link's book, used or not (it is spent before `after` reads).
	const demand = demandAlertWatch(
		sql`SELECT book_id FROM email_tokens WHERE token_hash = ${tokenHash} AND purpose = 'guest_prebook'`,
	);
	const { demandBefore, inserted, created, diagnosis, demandAfter } = await batch(db, {
		// The line grows by one: the demand alert's trigger may record a crossing (webhook-events.ts).
		demandBefore: demand.before,
		guestAccount: rawQuery(sql`INSERT INTO users
				(email, password_hash, is_guest, email_verified, locale, created_at, updated_at)
			SELECT email, '!guest', 1, 1, coalesce(${locale}, locale, 'en'), ${now}, ${now} FROM (${link}) WHERE true
			ON CONFLICT (email) DO NOTHING`),
		inserted: rawQuery<{ id: number }>(sql`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
			SELECT u.id, b.id, 'waiting', ${now}
			FROM users AS u JOIN books AS b ON b.id = ${bookOfLink}
			WHERE u.id = ${owner} AND u.is_active = 1 AND u.email_verified = 1
				AND b.stock_quantity - b.held_quantity = 0
				AND (SELECT count(*) FROM pre_bookings WHERE user_id = u.id AND status = 'waiting')
					< ${MAX_WAITING_PER_USER}
			ON CONFLICT DO NOTHING
			RETURNING id`),
		created: prebookViews(db)
			.where(and(sql`${preBookings.userId} = ${owner}`, sql`${preBookings.bookId} = ${bookOfLink}`))
			.orderBy(desc(preBookings.id))
			.limit(1),
		// Why a genuine link made no pre-booking, in POST /prebooks' precedence (same transaction, before
		// the link is spent).
		diagnosis: rawQuery<{
			link_valid: number;
			active: number | null;
			verified: number | null;
			available: number | null;
			waiting: number;
		}>(sql`
			SELECT EXISTS (${link}) AS link_valid,
				(SELECT is_active FROM users WHERE id = ${owner}) AS active,
				(SELECT email_verified FROM users WHERE id = ${owner}) AS verified,
				(SELECT stock_quantity - held_quantity FROM books WHERE id = ${bookOfLink}) AS available,
				(SELECT count(*) FROM pre_bookings WHERE user_id = ${owner} AND status = 'waiting') AS waiting`),
		// Spent whatever the outcome: a duplicate (rule 2's index) inserts nothing rather than failing the batch.
		spent: rawQuery(sql`UPDATE email_tokens SET used_at = ${now} WHERE ${unused}`),
		demandAfter: demand.after,
	});
	if (inserted.length > 0 && created[0]) {
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
	if (state.available === null) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "book_id");
	if (state.available > 0) {
		throw new AppError("PREBOOK_BOOK_IN_STOCK", "This book is in stock: buy it instead", "book_id");
	}
	if (state.waiting >= MAX_WAITING_PER_USER) {
		throw new AppError(
			"PREBOOK_LIMIT_REACHED",
			`You already have ${MAX_WAITING_PER_USER} waiting pre-bookings`,
			"book_id",
		);
	}
	throw duplicate();
}

/** Why a live guest link made nothing: its address belongs to a registered account not verified yet. */
export const ACCOUNT_NOT_VERIFIED =
	"This address belongs to an account that is not verified: reset its password (POST /auth/password/forgot) or finish a sign-up of the address, then pre-book signed in";

const invalidGuestLink = () =>
	new AppError("AUTH_INVALID_TOKEN", "This link is unknown, used or expired", "token", { status: 400 });

/**
 * What a live guest confirmation link is for — the address, the book's title, the language it was issued
 * in — for the page behind it, or null: a read, nothing changes (mail scanners follow links).
 */
export async function guestLinkOf(
	db: Db,
	token: string,
): Promise<{ email: string; title: string; locale: string | null } | null> {
	const [link] = await db
		.select({ email: emailTokens.email, title: books.title, locale: emailTokens.locale })
		.from(emailTokens)
		.innerJoin(books, eq(books.id, emailTokens.bookId))
		.where(
			and(
				eq(emailTokens.tokenHash, await hashToken(token)),
				eq(emailTokens.purpose, "guest_prebook"),
				isNull(emailTokens.usedAt),
				gt(emailTokens.expiresAt, new Date().toISOString()),
			),
		);
	return link ?? null;
}
