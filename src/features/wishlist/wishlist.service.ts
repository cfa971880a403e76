import { and, desc, eq, sql } from "drizzle-orm";
import { books, wishlistItems } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, bookNotFound } from "../../lib/errors.ts";
import { type NewestFirstCursor, newestFirstAfter } from "../../lib/pagination.ts";
import type { WishlistView } from "./wishlist.schemas.ts";

const wishlistColumns = {
	id: wishlistItems.id,
	bookId: books.id,
	bookTitle: books.title,
	bookAuthor: books.author,
	priceCents: books.priceCents,
	stockQuantity: books.stockQuantity,
	addedAt: wishlistItems.addedAt,
};

/** One round trip: the insert (a duplicate is left alone by the unique index) and the entry it made. */
export async function addToWishlist(db: Db, userId: number, bookId: number): Promise<WishlistView> {
	const { inserted, entry } = await batch(db, {
		inserted: rawQuery<{ id: number }>(sql`INSERT INTO wishlist_items (user_id, book_id, added_at)
			SELECT ${userId}, id, ${new Date().toISOString()} FROM books WHERE id = ${bookId}
			ON CONFLICT (user_id, book_id) DO NOTHING
			RETURNING id`),
		entry: db
			.select(wishlistColumns)
			.from(wishlistItems)
			.innerJoin(books, eq(books.id, wishlistItems.bookId))
			.where(and(eq(wishlistItems.userId, userId), eq(wishlistItems.bookId, bookId))),
	});
	const item = entry[0];
	if (!item) throw bookNotFound("book_id");
	if (inserted.length === 0) {
		throw new AppError("WISHLIST_ITEM_DUPLICATE", "This book is already on your wishlist", "book_id");
	}
	return item;
}

export function listWishlist(db: Db, userId: number, query: { after?: NewestFirstCursor; limit: number }) {
	return db
		.select(wishlistColumns)
		.from(wishlistItems)
		.innerJoin(books, eq(books.id, wishlistItems.bookId))
		.where(
			and(
				eq(wishlistItems.userId, userId),
				newestFirstAfter(wishlistItems.addedAt, wishlistItems.id, query.after),
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
