/**
 * The cart: one per user, one line per book, 1–100 copies a line, never more than the stock when added or
 * changed (checkout re-checks atomically). Every change returns the cart from the same batch.
 */
import { type SQL, sql } from "drizzle-orm";
import { MAX_CART_LINE_QUANTITY } from "../../db/schema.ts";
import { type Db, runBatch } from "../../lib/db.ts";
import { AppError, fieldError } from "../../lib/errors.ts";

export interface CartLine {
	id: number;
	bookId: number;
	bookTitle: string;
	unitPriceCents: number;
	quantity: number;
	stockQuantity: number;
}

/** The caller's cart lines with current title, price and stock. */
export const cartLinesQuery = (userId: number): SQL => sql`
	SELECT ci.id, ci.book_id, b.title, b.price_cents, ci.quantity, b.stock_quantity
	FROM cart_items AS ci
	JOIN carts AS c ON c.id = ci.cart_id
	JOIN books AS b ON b.id = ci.book_id
	WHERE c.user_id = ${userId}
	ORDER BY ci.id`;

export const toCartLines = (rows: Record<string, unknown>[] = []): CartLine[] =>
	rows.map((row) => ({
		id: row.id as number,
		bookId: row.book_id as number,
		bookTitle: row.title as string,
		unitPriceCents: row.price_cents as number,
		quantity: row.quantity as number,
		stockQuantity: row.stock_quantity as number,
	}));

const notEnoughStock = (stock: number) =>
	new AppError(
		"INSUFFICIENT_STOCK",
		stock === 0
			? "This book is out of stock"
			: `Only ${stock} ${stock === 1 ? "copy is" : "copies are"} in stock`,
		"quantity",
	);

export async function getCart(db: Db, userId: number): Promise<CartLine[]> {
	return toCartLines(await db.all<Record<string, unknown>>(cartLinesQuery(userId)));
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
	const [, added, diagnosis, lines] = await runBatch(db, [
		sql`INSERT INTO carts (user_id, created_at) VALUES (${userId}, ${now}) ON CONFLICT (user_id) DO NOTHING`,
		sql`INSERT INTO cart_items (cart_id, book_id, quantity, created_at, updated_at)
			SELECT c.id, b.id, ${quantity}, ${now}, ${now}
			FROM carts AS c JOIN books AS b ON b.id = ${bookId}
			WHERE c.user_id = ${userId}
				AND ${quantity} + ${inCart} <= ${MAX_CART_LINE_QUANTITY}
				AND b.stock_quantity >= ${quantity} + ${inCart}
			ON CONFLICT (cart_id, book_id) DO UPDATE
				SET quantity = quantity + excluded.quantity, updated_at = excluded.updated_at
			RETURNING id`,
		sql`SELECT b.stock_quantity, ${inCart} AS in_cart FROM books AS b WHERE b.id = ${bookId}`,
		cartLinesQuery(userId),
	]);
	if (added?.length) return toCartLines(lines);
	const book = diagnosis?.[0];
	if (!book) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "book_id");
	const wanted = quantity + (book.in_cart as number);
	if (wanted > MAX_CART_LINE_QUANTITY) {
		const detail = `A cart line holds at most ${MAX_CART_LINE_QUANTITY} copies (you already have ${book.in_cart})`;
		throw fieldError("quantity", detail);
	}
	throw notEnoughStock(book.stock_quantity as number);
}

export async function setCartItemQuantity(
	db: Db,
	userId: number,
	itemId: number,
	quantity: number,
): Promise<CartLine[]> {
	const [updated, diagnosis, lines] = await runBatch(db, [
		sql`UPDATE cart_items SET quantity = ${quantity}, updated_at = ${new Date().toISOString()}
			WHERE id = ${itemId} AND cart_id = (SELECT id FROM carts WHERE user_id = ${userId})
				AND (SELECT stock_quantity FROM books WHERE id = cart_items.book_id) >= ${quantity}
			RETURNING id`,
		sql`SELECT b.stock_quantity FROM cart_items AS ci
			JOIN carts AS c ON c.id = ci.cart_id JOIN books AS b ON b.id = ci.book_id
			WHERE ci.id = ${itemId} AND c.user_id = ${userId}`,
		cartLinesQuery(userId),
	]);
	if (updated?.length) return toCartLines(lines);
	const line = diagnosis?.[0];
	if (!line) throw new AppError("CART_ITEM_NOT_FOUND", "No such line in your cart", "id");
	throw notEnoughStock(line.stock_quantity as number);
}

export async function removeCartItem(db: Db, userId: number, itemId: number): Promise<void> {
	const removed = await db.all(sql`DELETE FROM cart_items
		WHERE id = ${itemId} AND cart_id = (SELECT id FROM carts WHERE user_id = ${userId})
		RETURNING id`);
	if (removed.length === 0) throw new AppError("CART_ITEM_NOT_FOUND", "No such line in your cart", "id");
}
