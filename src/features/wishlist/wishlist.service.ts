import { and, desc, eq, sql } from "drizzle-orm";
import { books, wishlistItems } from "../../db/schema.ts";
import { type Db, runBatch } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import type { NewestFirstCursor } from "../../lib/pagination.ts";

export interface WishlistView {
	bookId: number;
	bookTitle: string;
	bookAuthor: string;
	priceCents: number;
	stockQuantity: number;
	addedAt: string;
}

/** One round trip: the insert (a duplicate is ignored by the unique index) and the book it names. */
export async function addToWishlist(db: Db, userId: number, bookId: number): Promise<WishlistView> {
	const [inserted, book] = await runBatch(db, [
		sql`INSERT INTO wishlist_items (user_id, book_id, added_at)
			SELECT ${userId}, id, ${new Date().toISOString()} FROM books WHERE id = ${bookId}
			ON CONFLICT (user_id, book_id) DO NOTHING
			RETURNING added_at`,
		sql`SELECT title, author, price_cents, stock_quantity FROM books WHERE id = ${bookId}`,
	]);
	const found = book?.[0];
	if (!found) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "book_id");
	const added = inserted?.[0];
	if (!added)
		throw new AppError("WISHLIST_ITEM_DUPLICATE", "This book is already on your wishlist", "book_id");
	return {
		bookId,
		bookTitle: found.title as string,
		bookAuthor: found.author as string,
		priceCents: found.price_cents as number,
		stockQuantity: found.stock_quantity as number,
		addedAt: added.added_at as string,
	};
}

export function listWishlist(db: Db, userId: number, query: { after?: NewestFirstCursor; limit: number }) {
	return db
		.select({
			id: wishlistItems.id,
			bookId: books.id,
			bookTitle: books.title,
			bookAuthor: books.author,
			priceCents: books.priceCents,
			stockQuantity: books.stockQuantity,
			addedAt: wishlistItems.addedAt,
		})
		.from(wishlistItems)
		.innerJoin(books, eq(books.id, wishlistItems.bookId))
		.where(
			and(
				eq(wishlistItems.userId, userId),
				query.after
					? sql`(${wishlistItems.addedAt}, ${wishlistItems.id}) < (${query.after.at}, ${query.after.id})`
					: undefined,
			),
		)
		.orderBy(desc(wishlistItems.addedAt), desc(wishlistItems.id))
		.limit(query.limit + 1);
}

export async function removeFromWishlist(db: Db, userId: number, bookId: number): Promise<void> {
	const removed = await db
		.delete(wishlistItems)
		.where(and(eq(wishlistItems.userId, userId), eq(wishlistItems.bookId, bookId)))
		.returning({ id: wishlistItems.id });
	if (removed.length === 0) {
		throw new AppError("WISHLIST_ITEM_NOT_FOUND", "This book is not on your wishlist", "book_id");
	}
}
