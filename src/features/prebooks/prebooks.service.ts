/**
 * Pre-booking rules (API.md, Pre-bookings):
 *  1. a book can be pre-booked only while its stock is 0;
 *  2. one waiting pre-booking per user and book (partial unique index uq_pre_bookings_user_book_waiting);
 *  3. at most 100 waiting pre-bookings per user.
 * The restock that notifies them is in features/restocks.
 */
import { and, count, desc, eq, ne, sql } from "drizzle-orm";
import { books, type PrebookStatus, preBookings } from "../../db/schema.ts";
import { batch, constraintViolation, type Db, rawQuery } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { type NewestFirstCursor, newestFirstAfter } from "../../lib/pagination.ts";
import type { DemandView, PrebookView } from "./prebooks.schemas.ts";

export const MAX_WAITING_PER_USER = 100;

const prebookNotFound = () => new AppError("PREBOOK_NOT_FOUND", "No pre-booking with this id", "id");

/**
 * One round trip. Rules 1 and 3 are conditions of the INSERT itself, so a restock committing between a
 * read and the write can never leave a waiting row on an in-stock book; rule 2 is the unique index. When
 * the INSERT adds nothing, the diagnostic SELECT (same transaction, same view) says which rule refused,
 * in the contract's precedence: unknown book, in stock, duplicate, limit.
 */
export async function createPrebook(db: Db, userId: number, bookId: number): Promise<PrebookView> {
	const now = new Date().toISOString();
	const duplicate = () =>
		new AppError("PREBOOK_DUPLICATE", "You already have an active pre-booking for this book", "book_id");
	let results: [
		{ id: number }[],
		PrebookView[],
		{ stockQuantity: number; hasWaiting: number; waiting: number }[],
	];
	try {
		results = await batch(db, [
			rawQuery<{ id: number }>(sql`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
				SELECT ${userId}, id, 'waiting', ${now} FROM books
				WHERE id = ${bookId} AND stock_quantity = 0
					AND (SELECT count(*) FROM pre_bookings WHERE user_id = ${userId} AND status = 'waiting')
						< ${MAX_WAITING_PER_USER}
				RETURNING id`),
			prebookViews(db)
				.where(and(eq(preBookings.userId, userId), eq(preBookings.bookId, bookId)))
				.orderBy(desc(preBookings.id))
				.limit(1),
			db
				.select({
					stockQuantity: books.stockQuantity,
					hasWaiting: sql<number>`EXISTS (SELECT 1 FROM pre_bookings
						WHERE user_id = ${userId} AND book_id = ${bookId} AND status = 'waiting')`,
					waiting: sql<number>`(SELECT count(*) FROM pre_bookings WHERE user_id = ${userId} AND status = 'waiting')`,
				})
				.from(books)
				.where(eq(books.id, bookId)),
		]);
	} catch (err) {
		if (constraintViolation(err)?.kind === "unique") throw duplicate();
		throw err;
	}
	const [inserted, created, diagnosis] = results;
	if (inserted.length > 0 && created[0]) return created[0];
	const book = diagnosis[0];
	if (!book) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "book_id");
	if (book.stockQuantity > 0) {
		throw new AppError("PREBOOK_BOOK_IN_STOCK", "This book is in stock: buy it instead", "book_id");
	}
	if (book.hasWaiting) throw duplicate();
	if (book.waiting >= MAX_WAITING_PER_USER) {
		throw new AppError(
			"PREBOOK_LIMIT_REACHED",
			`You already have ${MAX_WAITING_PER_USER} waiting pre-bookings`,
			"book_id",
		);
	}
	throw new Error("pre-booking insert refused for no known reason");
}

/** Pre-bookings with their book's title and author (a builder: add where/order/limit). */
const prebookViews = (db: Db) =>
	db
		.select({
			id: preBookings.id,
			bookId: preBookings.bookId,
			bookTitle: books.title,
			bookAuthor: books.author,
			status: preBookings.status,
			createdAt: preBookings.createdAt,
			notifiedAt: preBookings.notifiedAt,
			cancelledAt: preBookings.cancelledAt,
		})
		.from(preBookings)
		.innerJoin(books, eq(books.id, preBookings.bookId))
		.$dynamic();

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

/** Soft cancel: the row stays with status `cancelled`. A notified pre-booking may be cancelled too. */
export async function cancelPrebook(db: Db, userId: number, id: number): Promise<void> {
	const [cancelled, current] = await db.batch([
		db
			.update(preBookings)
			.set({ status: "cancelled", cancelledAt: new Date().toISOString() })
			.where(and(eq(preBookings.id, id), eq(preBookings.userId, userId), ne(preBookings.status, "cancelled")))
			.returning({ id: preBookings.id }),
		db
			.select({ status: preBookings.status })
			.from(preBookings)
			.where(and(eq(preBookings.id, id), eq(preBookings.userId, userId))),
	]);
	if (cancelled.length > 0) return;
	if (current.length === 0) throw prebookNotFound();
	throw new AppError("PREBOOK_ALREADY_CANCELLED", "This pre-booking is already cancelled", "id");
}

/** Books by number of waiting pre-bookings, most first (served by idx_pre_bookings_book_waiting). */
export function waitingDemand(db: Db, limit: number): Promise<DemandView[]> {
	const waitingCount = count().as("waiting_count");
	return (
		db
			.select({
				bookId: books.id,
				title: books.title,
				author: books.author,
				stockQuantity: books.stockQuantity,
				waitingCount,
			})
			.from(preBookings)
			.innerJoin(books, eq(books.id, preBookings.bookId))
			.where(eq(preBookings.status, "waiting"))
			// Grouping by the indexed column walks idx_pre_bookings_book_waiting in order (no temporary B-tree).
			.groupBy(preBookings.bookId)
			.orderBy(desc(waitingCount), books.id)
			.limit(limit)
	);
}
