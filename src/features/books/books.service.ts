import { and, eq, gt, or, type SQL, sql } from "drizzle-orm";
import { type BookRow, books, genres } from "../../db/schema.ts";
import { batch } from "../../lib/batch.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, bookNotFound, constraintViolation } from "../../lib/errors.ts";
import { containsText } from "../../lib/sql.ts";
import { allocate, allocateBook, booksIn } from "../allocation/engine.ts";
import { rememberPolicy } from "../allocation/expected-policy.ts";
import { handBackOffers } from "../allocation/line.ts";
import { NOTHING, type Outcome, outcomeOf } from "../allocation/outcome.ts";
import { crossedEvents, demandAlertWatch } from "../webhooks/webhook-events.ts";

export interface BookFilters {
	q?: string;
	author?: string;
	genreId?: number;
	workId?: number;
	inStock?: boolean;
	afterId?: number;
	limit: number;
}

export type BookValues = Partial<
	Pick<
		BookRow,
		| "title"
		| "author"
		| "priceCents"
		| "isbn"
		| "description"
		| "genreId"
		| "publishDate"
		| "workId"
		| "format"
		| "stockQuantity"
		| "allocation"
		| "holdHours"
		| "waveFactor"
		| "waveMinutes"
		| "demandAlertThreshold"
	>
>;

/**
 * Constraint failures of a book write, as the client's fault (one round trip, no read beforehand). SQLite
 * does not say which foreign key failed: only then (the write changed nothing) a read tells the genre from
 * the work.
 */
async function asBookWriteError(db: Db, err: unknown, values: BookValues): Promise<unknown> {
	const violation = constraintViolation(err);
	if (violation?.kind === "unique" && violation.target.includes("isbn")) {
		return new AppError("BOOK_ISBN_CONFLICT", "Another book has this ISBN", "isbn");
	}
	if (violation?.kind === "foreign_key") {
		const genreMissing =
			typeof values.genreId === "number" &&
			!(await db.select({ id: genres.id }).from(genres).where(eq(genres.id, values.genreId)).get());
		if (genreMissing || typeof values.workId !== "number") {
			return new AppError("GENRE_NOT_FOUND", "No genre with this id", "genre_id");
		}
		return new AppError("WORK_NOT_FOUND", "No work with this id", "work_id");
	}
	return err;
}

export function listBooks(db: Db, filters: BookFilters) {
	const conditions: (SQL | undefined)[] = [
		filters.q ? or(containsText(books.title, filters.q), containsText(books.author, filters.q)) : undefined,
		// Same expression as idx_books_author, so the index serves it.
		filters.author ? sql`lower(${books.author}) = lower(${filters.author})` : undefined,
		filters.genreId !== undefined ? eq(books.genreId, filters.genreId) : undefined,
		// A work's editions, over idx_books_work.
		filters.workId !== undefined ? eq(books.workId, filters.workId) : undefined,
		// On available_quantity: a hold_queue book whose every copy is held is not in stock for a browser.
		filters.inStock === undefined
			? undefined
			: filters.inStock
				? gt(books.stockQuantity, books.heldQuantity)
				: eq(books.stockQuantity, books.heldQuantity),
		filters.afterId !== undefined ? gt(books.id, filters.afterId) : undefined,
	];
	return db
		.select()
		.from(books)
		.where(and(...conditions))
		.orderBy(books.id)
		.limit(filters.limit + 1);
}

export async function getBook(db: Db, id: number): Promise<BookRow> {
	const book = await db.select().from(books).where(eq(books.id, id)).get();
	if (!book) throw bookNotFound();
	return book;
}

/** A book written: its cached entries go, and those of the works it is (or was) an edition of. */
const bookChanged = (bookId: number, workIds: (number | null | undefined)[]) =>
	outcomeOf({
		catalogBookIds: [bookId],
		catalogWorkIds: workIds.filter((workId): workId is number => typeof workId === "number"),
	});

/** The book a create batch inserted: the newest, since no other statement of that batch inserts one. */
const newestBook = sql<number>`(SELECT max(id) FROM books)`;

/**
 * One round trip: the book, and the engine for it — a new edition in stock is a copy for the work
 * pre-bookings that accept it (rule 11: none of them is left waiting beside it).
 */
export async function createBook(
	db: Db,
	values: BookValues & Pick<BookRow, "title" | "author" | "priceCents">,
): Promise<{ book: BookRow; outcome: Outcome }> {
	try {
		const { allocation, created } = await withUniqueNow((now) =>
			batch(db, {
				inserted: db.insert(books).values(values),
				allocation: allocateBook(newestBook, "policy", now),
				// Read after the engine: a copy it held for a waiting work pre-booking counts in the answer.
				created: db.select().from(books).where(eq(books.id, newestBook)),
			}),
		);
		const book = created[0];
		if (!book) throw new Error("the inserted book was not read back");
		rememberPolicy(book.id, book.allocation);
		// The engine's outcome names a lottery book without a draw: its first is opened after the commit.
		return { book, outcome: outcomeOf(allocation, bookChanged(book.id, [book.workId])) };
	} catch (err) {
		throw await asBookWriteError(db, err, values);
	}
}

/**
 * One round trip: the change and the engine for the book (rule 9: a switch of policy, or of `hold_hours`,
 * serves the line at once under the new rules).
 */
export async function updateBook(
	db: Db,
	id: number,
	values: BookValues,
): Promise<{ book: BookRow; outcome: Outcome }> {
	if (Object.values(values).every((value) => value === undefined)) {
		const book = await getBook(db, id);
		return { book, outcome: NOTHING };
	}
	try {
		const { previous, updated, allocation, current } = await withUniqueNow((now) =>
			batch(db, {
				previous: db.select({ workId: books.workId }).from(books).where(eq(books.id, id)),
				updated: db
					.update(books)
					.set({ ...values, updatedAt: now })
					.where(eq(books.id, id))
					.returning({ id: books.id }),
				allocation: allocateBook(id, "policy", now),
				current: db.select().from(books).where(eq(books.id, id)),
			}),
		);
		const book = current[0];
		if (updated.length === 0 || !book) throw bookNotFound();
		rememberPolicy(id, book.allocation);
		// The work it was an edition of changes too when the book moves.
		return { book, outcome: outcomeOf(allocation, bookChanged(id, [previous[0]?.workId, book.workId])) };
	} catch (err) {
		throw await asBookWriteError(db, err, values);
	}
}

/**
 * One round trip: the book goes, with its pre-bookings (docs/api.md) — but a work pre-booking it held a
 * copy for waits again for the work's other editions, which the engine serves in the same batch. The
 * book's cached entries go, and its work's (which lists its editions). A book that does not exist still
 * costs the batch (its engine run finds no line, its batch time is claimed): 404 after it.
 */
export async function deleteBook(db: Db, id: number): Promise<Outcome> {
	// Work pre-bookings offered a copy of this edition: each waits again for its work's other editions
	// (which may have moved the edition out since: the pre-booking's work counts, not the book's).
	const offeredWorkPrebooks = sql`FROM pre_bookings
		WHERE book_id = ${id} AND status = 'offered' AND work_id IS NOT NULL`;
	const { demandBefore, deleted, allocation, demandAfter } = await withUniqueNow((now) => {
		// The editions the engine runs for: those of the works of the readers this edition's rounds offered
		// a copy who are back in line (a rejoined reader keeps its `offer_round_id` until the DELETE clears
		// it; its closed history is left out) and of the readers this batch's rounds offer (so a reader
		// served again stays in scope for the recount after) — the same set for every statement of the batch
		// (idx_offer_rounds_book, idx_offer_rounds_unpublished). Not the edition itself: it is going.
		const otherEditions = sql`SELECT e.id FROM books AS e WHERE e.id <> ${id} AND e.work_id IN (
			SELECT p.work_id FROM pre_bookings AS p WHERE p.work_id IS NOT NULL
				AND p.status IN ('waiting', 'notified', 'offered') AND p.offer_round_id IN (
				SELECT r.id FROM offer_rounds AS r WHERE r.book_id = ${id}
				UNION ALL SELECT r.id FROM offer_rounds AS r WHERE r.published_at IS NULL AND r.created_at = ${now}))`;
		const demand = demandAlertWatch(otherEditions);
		return batch(db, {
			demandBefore: demand.before,
			// The book's own demand alert stays silent: the readers' return below counts in every edition of
			// the work, this one included, which no subscriber should hear of as it goes.
			silenced: db.update(books).set({ demandAlertThreshold: null }).where(eq(books.id, id)),
			// A work pre-booking is a place in every edition it accepts: one this edition held a copy for
			// waits again for the others, its place kept (no pass spent).
			...handBackOffers(offeredWorkPrebooks, now),
			// The other editions may have a copy for them now (rule 11).
			allocation: allocate(booksIn(otherEditions), "eligible", now),
			demandAfter: demand.after,
			// Its own pre-bookings (and the work pre-bookings it notified or sold) go with it (docs/api.md).
			deleted: db.delete(books).where(eq(books.id, id)).returning({ workId: books.workId }),
		});
	});
	if (!deleted[0]) throw bookNotFound();
	return outcomeOf(allocation, bookChanged(id, [deleted[0].workId]), {
		webhookEventIds: crossedEvents(demandBefore, demandAfter),
	});
}
