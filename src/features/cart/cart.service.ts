/**
 * The cart: one per user, one line per book, 1–100 copies a line, never more than the user may buy when
 * added or changed — the book's available copies (`stock − held`) plus the copy held for this user, if
 * any (checkout re-checks atomically). Every change returns the cart from the same batch.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { books, cartItems, carts, MAX_CART_LINE_QUANTITY } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, bookNotFound, fieldError } from "../../lib/errors.ts";
import type { CartLine } from "./cart.schemas.ts";

/** Copies of a book held for this user: 0 or 1 (one active pre-booking per user and book). */
const heldFor = (userId: number, bookId: SQL | number) =>
	sql<number>`(SELECT count(*) FROM pre_bookings AS held
		WHERE held.user_id = ${userId} AND held.book_id = ${bookId} AND held.status = 'offered')`;

/** What this user may buy of a book: its available copies and the one held for the user. */
const buyableBy = (userId: number) =>
	sql<number>`${books.stockQuantity} - ${books.heldQuantity} + ${heldFor(userId, sql`${books.id}`)}`;

/**
 * A condition for a statement: the user's cart has lines and none asks for more than the user can buy now
 * (what `cartLines` would report as CART_EMPTY or INSUFFICIENT_STOCK), so checkout reserves a payment
 * attempt only for a cart it will really try to pay for.
 */
export const cartIsBuyable = (userId: number) => sql`EXISTS (SELECT 1 FROM cart_items
		JOIN carts ON carts.id = cart_items.cart_id WHERE carts.user_id = ${userId})
	AND NOT EXISTS (SELECT 1 FROM cart_items JOIN carts ON carts.id = cart_items.cart_id
		JOIN books ON books.id = cart_items.book_id
		WHERE carts.user_id = ${userId} AND cart_items.quantity > ${buyableBy(userId)})`;

/** The caller's cart lines with current title, price and availability (a builder: alone or in a batch). */
export const cartLines = (db: Db, userId: number) =>
	db
		.select({
			id: cartItems.id,
			bookId: cartItems.bookId,
			bookTitle: books.title,
			unitPriceCents: books.priceCents,
			quantity: cartItems.quantity,
			availableQuantity: buyableBy(userId),
		})
		.from(cartItems)
		.innerJoin(carts, eq(carts.id, cartItems.cartId))
		.innerJoin(books, eq(books.id, cartItems.bookId))
		.where(eq(carts.userId, userId))
		.orderBy(cartItems.id);

const notEnoughStock = (stock: number) =>
	new AppError(
		"INSUFFICIENT_STOCK",
		stock === 0
			? "This book is out of stock"
			: `Only ${stock} ${stock === 1 ? "copy is" : "copies are"} in stock`,
		"quantity",
	);

export function getCart(db: Db, userId: number): Promise<CartLine[]> {
	return cartLines(db, userId);
}

/** One round trip: make the cart, add or merge the line if stock and the line cap allow, read it all back. */
export async function addToCart(
	db: Db,
	userId: number,
	bookId: number,
	quantity: number,
): Promise<CartLine[]> {
	const now = new Date().toISOString();
	const inCart = sql`coalesce((SELECT ci.quantity FROM cart_items AS ci JOIN carts AS c ON c.id = ci.cart_id
		WHERE c.user_id = ${userId} AND ci.book_id = ${bookId}), 0)`;
	const { added, diagnosis, lines } = await batch(db, {
		cart: db.insert(carts).values({ userId, createdAt: now }).onConflictDoNothing(),
		added: rawQuery<{
			id: number;
		}>(sql`INSERT INTO cart_items (cart_id, book_id, quantity, created_at, updated_at)
			SELECT c.id, b.id, ${quantity}, ${now}, ${now}
			FROM carts AS c JOIN books AS b ON b.id = ${bookId}
			WHERE c.user_id = ${userId}
				AND ${quantity} + ${inCart} <= ${MAX_CART_LINE_QUANTITY}
				AND b.stock_quantity - b.held_quantity + ${heldFor(userId, bookId)} >= ${quantity} + ${inCart}
			ON CONFLICT (cart_id, book_id) DO UPDATE
				SET quantity = quantity + excluded.quantity, updated_at = excluded.updated_at
			RETURNING id`),
		// When nothing was added: whether the book exists, what the user may buy and already has.
		diagnosis: db
			.select({ availableQuantity: buyableBy(userId), inCart: sql<number>`${inCart}` })
			.from(books)
			.where(eq(books.id, bookId)),
		lines: cartLines(db, userId),
	});
	if (added.length > 0) return lines;
	const book = diagnosis[0];
	if (!book) throw bookNotFound("book_id");
	if (quantity + book.inCart > MAX_CART_LINE_QUANTITY) {
		const detail = `A cart line holds at most ${MAX_CART_LINE_QUANTITY} copies (you already have ${book.inCart})`;
		throw fieldError("quantity", detail);
	}
	throw notEnoughStock(book.availableQuantity);
}

export async function setCartItemQuantity(
	db: Db,
	userId: number,
	itemId: number,
	quantity: number,
): Promise<CartLine[]> {
	const { updated, diagnosis, lines } = await batch(db, {
		updated: rawQuery<{
			id: number;
		}>(sql`UPDATE cart_items SET quantity = ${quantity}, updated_at = ${new Date().toISOString()}
			WHERE id = ${itemId} AND cart_id = (SELECT id FROM carts WHERE user_id = ${userId})
				AND (SELECT stock_quantity - held_quantity FROM books WHERE id = cart_items.book_id)
					+ ${heldFor(userId, sql`cart_items.book_id`)} >= ${quantity}
			RETURNING id`),
		diagnosis: db
			.select({ availableQuantity: buyableBy(userId) })
			.from(cartItems)
			.innerJoin(carts, eq(carts.id, cartItems.cartId))
			.innerJoin(books, eq(books.id, cartItems.bookId))
			.where(and(eq(cartItems.id, itemId), eq(carts.userId, userId))),
		lines: cartLines(db, userId),
	});
	if (updated.length > 0) return lines;
	const line = diagnosis[0];
	if (!line) throw new AppError("CART_ITEM_NOT_FOUND", "No such line in your cart", "id");
	throw notEnoughStock(line.availableQuantity);
}

export async function removeCartItem(db: Db, userId: number, itemId: number): Promise<void> {
	const removed = await db
		.delete(cartItems)
		.where(
			and(
				eq(cartItems.id, itemId),
				eq(cartItems.cartId, sql`(SELECT id FROM carts WHERE user_id = ${userId})`),
			),
		)
		.returning({ id: cartItems.id });
	if (removed.length === 0) throw new AppError("CART_ITEM_NOT_FOUND", "No such line in your cart", "id");
}
