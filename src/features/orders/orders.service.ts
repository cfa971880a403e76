import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { type OrderStatus, orders } from "../../db/schema.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import type { OrderItemView, OrderView } from "./orders.schemas.ts";

/**
 * An order's columns with its items aggregated as JSON, for a select on `orders`.
 * The correlation names `"orders"."id"` literally: in a single-table select drizzle writes a column
 * interpolated into the select list as a bare `"id"`, which inside this subquery would mean `i.id`.
 */
export const orderColumns = () => ({
	id: orders.id,
	userId: orders.userId,
	status: orders.status,
	totalCents: orders.totalCents,
	createdAt: orders.createdAt,
	items: sql<OrderItemView[]>`(SELECT json_group_array(json_object(
		'bookId', i.book_id, 'title', i.title, 'unitPriceCents', i.unit_price_cents, 'quantity', i.quantity))
		FROM order_items AS i WHERE i.order_id = "orders"."id")`.mapWith((json: string): OrderItemView[] =>
		JSON.parse(json),
	),
});

/** Orders with their items in one statement, newest first. A builder. */
export const selectOrders = (db: Db, where: SQL | undefined, limit: number) =>
	db.select(orderColumns()).from(orders).where(where).orderBy(desc(orders.id)).limit(limit);

/** Inside a checkout batch, the order the batch just inserted: the user's newest. */
export const newestOrderOf = (userId: number) => sql`(SELECT max(id) FROM orders WHERE user_id = ${userId})`;

export function listOrders(
	db: Db,
	query: { userId?: number; status?: OrderStatus; beforeId?: number; limit: number },
): Promise<OrderView[]> {
	return selectOrders(
		db,
		and(
			query.userId !== undefined ? eq(orders.userId, query.userId) : undefined,
			query.status ? eq(orders.status, query.status) : undefined,
			query.beforeId !== undefined ? lt(orders.id, query.beforeId) : undefined,
		),
		query.limit + 1,
	);
}

/** Another user's order is "not found". */
export async function getOrder(db: Db, userId: number, orderId: number): Promise<OrderView> {
	const [order] = await selectOrders(db, and(eq(orders.id, orderId), eq(orders.userId, userId)), 1);
	if (!order) throw new AppError("ORDER_NOT_FOUND", "No order with this id", "id");
	return order;
}

/**
 * Records a capture after the response. A failure leaves the payment `authorized` for reconciliation — the
 * money was taken — so it is logged like a failed capture, never silent.
 */
export async function markPaymentCaptured(db: Db, orderId: number): Promise<void> {
	try {
		await db.run(sql`UPDATE payments SET status = 'captured', updated_at = ${new Date().toISOString()}
			WHERE order_id = ${orderId} AND status = 'authorized'`);
	} catch (err) {
		logEvent("error", "checkout_capture_record_failed", { order_id: orderId, error: describeError(err) });
	}
}
