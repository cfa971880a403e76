import { and, eq, gt, or, type SQL, sql } from "drizzle-orm";
import { type BookRow, books } from "../../db/schema.ts";
import { constraintViolation, type Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { containsText } from "../../lib/sql.ts";

export interface BookFilters {
	q?: string;
	author?: string;
	genreId?: number;
	inStock?: boolean;
	afterId?: number;
	limit: number;
}

export type BookValues = Partial<
	Pick<
		BookRow,
		"title" | "author" | "priceCents" | "isbn" | "description" | "genreId" | "publishDate" | "stockQuantity"
	>
>;

const bookNotFound = () => new AppError("BOOK_NOT_FOUND", "No book with this id", "id");

/** Constraint failures of a book write, as the client's fault (one round trip, no read beforehand). */
function asBookWriteError(err: unknown): unknown {
	const violation = constraintViolation(err);
	if (violation?.kind === "unique" && violation.target.includes("isbn")) {
		return new AppError("BOOK_ISBN_CONFLICT", "Another book has this ISBN", "isbn");
	}
	if (violation?.kind === "foreign_key") {
		return new AppError("GENRE_NOT_FOUND", "No genre with this id", "genre_id");
	}
	return err;
}

export function listBooks(db: Db, filters: BookFilters) {
	const conditions: (SQL | undefined)[] = [
		filters.q ? or(containsText(books.title, filters.q), containsText(books.author, filters.q)) : undefined,
		// Same expression as idx_books_author, so the index serves it.
		filters.author ? sql`lower(${books.author}) = lower(${filters.author})` : undefined,
		filters.genreId !== undefined ? eq(books.genreId, filters.genreId) : undefined,
		filters.inStock === undefined
			? undefined
			: filters.inStock
				? gt(books.stockQuantity, 0)
				: eq(books.stockQuantity, 0),
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

export async function createBook(
	db: Db,
	values: BookValues & Pick<BookRow, "title" | "author" | "priceCents">,
): Promise<BookRow> {
	try {
		const [book] = await db.insert(books).values(values).returning();
		if (!book) throw new Error("the inserted book was not returned");
		return book;
	} catch (err) {
		throw asBookWriteError(err);
	}
}

export async function updateBook(db: Db, id: number, values: BookValues): Promise<BookRow> {
	if (Object.values(values).every((value) => value === undefined)) return getBook(db, id);
	try {
		const [book] = await db
			.update(books)
			.set({ ...values, updatedAt: new Date().toISOString() })
			.where(eq(books.id, id))
			.returning();
		if (!book) throw bookNotFound();
		return book;
	} catch (err) {
		throw asBookWriteError(err);
	}
}

export async function deleteBook(db: Db, id: number): Promise<void> {
	const deleted = await db.delete(books).where(eq(books.id, id)).returning({ id: books.id });
	if (deleted.length === 0) throw bookNotFound();
}
