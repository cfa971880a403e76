/**
 * Checkout: authorize the payment, then one D1 batch, then capture.
 *
 *  1. read the cart (and the order already made with this Idempotency-Key, if any) — round trip 1;
 *  2. authorize the total with the payment provider. Declined: record a `payment_failed` order; stock and
 *     cart are untouched;
 *  3. one batch — round trip 2: decrement every line's stock (the `CHECK (stock_quantity >= 0)` aborts the
 *     whole batch on a short line, so nothing changes), insert the order, its items and the payment, and
 *     remove the purchased cart lines. If it aborts, the authorization is voided: nobody pays for copies
 *     they did not get, and no copy is sold twice;
 *  4. capture the authorization (the handler records it after the response).
 *
 * Idempotency: one order per (user, key), enforced by a unique index inside the batch, so two concurrent
 * requests with the same key produce one order; the loser voids its authorization and returns the winner's.
 */
import { eq, sql } from "drizzle-orm";
import { type OrderStatus, orders } from "../../db/schema.ts";
import { batch, constraintViolation, type Db, rawQuery } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { formatCents } from "../../lib/money.ts";
import type { CartLine } from "../cart/cart.schemas.ts";
import { cartLines } from "../cart/cart.service.ts";
import type { OrderView } from "./orders.schemas.ts";
import { newestOrderOf, orderByIdempotencyKey, selectOrders } from "./orders.service.ts";
import type { PaymentProvider } from "./payment.ts";

export interface CheckoutResult {
	order: OrderView;
	/** The order was made earlier by a request with the same Idempotency-Key. */
	replayed: boolean;
	/** The payment was captured: record it (after the response, see `markPaymentCaptured`). */
	captured: boolean;
}

const insufficientStock = (line: Pick<CartLine, "bookId" | "bookTitle" | "stockQuantity">) =>
	new AppError(
		"INSUFFICIENT_STOCK",
		line.stockQuantity === 0
			? `"${line.bookTitle}" is out of stock`
			: `Only ${line.stockQuantity} of "${line.bookTitle}" left`,
		`book_id:${line.bookId}`,
	);

export async function checkout(
	db: Db,
	payments: PaymentProvider,
	userId: number,
	options: { paymentToken?: string; idempotencyKey?: string },
): Promise<CheckoutResult> {
	const { idempotencyKey } = options;
	// Without a key no earlier order can match: the empty string is never a valid key.
	const [previous, lines] = await db.batch([
		orderByIdempotencyKey(db, userId, idempotencyKey ?? ""),
		cartLines(db, userId),
	]);
	const earlier = previous[0];
	if (earlier) return { order: earlier, replayed: true, captured: false };

	if (lines.length === 0) throw new AppError("CART_EMPTY", "Your cart is empty", null);
	// A line already short needs no payment attempt; the batch re-checks whatever happens meanwhile.
	const short = lines.find((line) => line.quantity > line.stockQuantity);
	if (short) throw insufficientStock(short);

	const totalCents = lines.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
	const authorization = await payments.authorize({
		token: options.paymentToken ?? "tok_default",
		amountCents: totalCents,
		description: `Bookstore order of ${lines.length} line(s), ${formatCents(totalCents)}`,
	});
	const now = new Date().toISOString();
	const orderItems = JSON.stringify(
		lines.map((line) => ({
			book_id: line.bookId,
			title: line.bookTitle,
			price: line.unitPriceCents,
			quantity: line.quantity,
		})),
	);
	// The order goes first: a concurrent request with the same Idempotency-Key fails on the unique index
	// before anything else, so it answers with the winner's order instead of a stock error.
	const newOrder = (status: OrderStatus) =>
		[
			rawQuery(sql`INSERT INTO orders (user_id, status, total_cents, idempotency_key, created_at)
			VALUES (${userId}, ${status}, ${totalCents}, ${idempotencyKey ?? null}, ${now})`),
			rawQuery(sql`INSERT INTO order_items (order_id, book_id, title, unit_price_cents, quantity)
			SELECT ${newestOrderOf(userId)},
				value ->> 'book_id', value ->> 'title', value ->> 'price', value ->> 'quantity'
			FROM json_each(${orderItems})`),
		] as const;
	const payment = (status: "authorized" | "declined", reference: string | null) =>
		rawQuery(sql`INSERT INTO payments (order_id, provider, status, reference, amount_cents, created_at, updated_at)
			VALUES (${newestOrderOf(userId)}, ${payments.name}, ${status}, ${reference}, ${totalCents}, ${now}, ${now})`);
	const readBack = selectOrders(db, eq(orders.id, newestOrderOf(userId)), 1);

	let order: OrderView | undefined;
	try {
		if (!authorization.approved) {
			const [, , , declined] = await batch(db, [
				...newOrder("payment_failed"),
				payment("declined", null),
				readBack,
			]);
			logEvent("info", "checkout_payment_declined", { user_id: userId, reason: authorization.reason });
			if (!declined[0]) throw new Error("checkout: the declined order was not read back");
			return { order: declined[0], replayed: false, captured: false };
		}
		const [, , , , , confirmed] = await batch(db, [
			...newOrder("confirmed"),
			rawQuery(sql`UPDATE books SET stock_quantity = stock_quantity - (j.value ->> 'quantity'), updated_at = ${now}
				FROM json_each(${orderItems}) AS j
				WHERE books.id = j.value ->> 'book_id'`),
			payment("authorized", authorization.reference),
			rawQuery(
				sql`DELETE FROM cart_items WHERE id IN (SELECT value FROM json_each(${JSON.stringify(lines.map((l) => l.id))}))`,
			),
			readBack,
		]);
		order = confirmed[0];
		if (!order) throw new Error("checkout: the confirmed order was not read back");
	} catch (err) {
		if (authorization.approved) await payments.void(authorization.reference);
		const violation = constraintViolation(err);
		if (violation?.kind === "unique" && idempotencyKey) {
			// A concurrent request with the same key made the order: answer with it.
			const [winner] = await orderByIdempotencyKey(db, userId, idempotencyKey);
			if (winner) return { order: winner, replayed: true, captured: false };
		}
		if (violation?.kind === "check" || violation?.kind === "foreign_key") {
			// Another buyer took the last copies (or the book was removed) between the read and the batch.
			const current = await cartLines(db, userId);
			const short = current.find((line) => line.quantity > line.stockQuantity);
			throw short
				? insufficientStock(short)
				: new AppError("INSUFFICIENT_STOCK", "A book in your cart is gone", null);
		}
		throw err;
	}
	// The order is committed; only now is the money taken. A capture that fails leaves the payment
	// `authorized` for reconciliation, never an unpaid order silently undone.
	try {
		await payments.capture(authorization.reference);
	} catch (err) {
		logEvent("error", "checkout_capture_failed", {
			order_id: order.id,
			error: err instanceof Error ? err.name : typeof err,
		});
		return { order, replayed: false, captured: false };
	}
	return { order, replayed: false, captured: true };
}
