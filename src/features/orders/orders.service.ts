import { type SQL, sql } from "drizzle-orm";
import type { OrderStatus } from "../../db/schema.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";

export interface OrderView {
	id: number;
	userId: number;
	status: OrderStatus;
	totalCents: number;
	createdAt: string;
	items: { bookId: number | null; title: string; unitPriceCents: number; quantity: number }[];
}

/** Orders with their items in one statement (items aggregated as JSON), newest first. */
export function selectOrders(where: SQL, limit: number): SQL {
	return sql`
		SELECT o.id, o.user_id, o.status, o.total_cents, o.created_at,
			(SELECT json_group_array(json_object(
				'book_id', i.book_id, 'title', i.title, 'unit_price_cents', i.unit_price_cents, 'quantity', i.quantity))
			 FROM order_items AS i WHERE i.order_id = o.id) AS items
		FROM orders AS o
		WHERE ${where}
		ORDER BY o.id DESC
		LIMIT ${limit}`;
}

export function toOrderView(row: Record<string, unknown>): OrderView {
	const items = JSON.parse(String(row.items ?? "[]")) as {
		book_id: number | null;
		title: string;
		unit_price_cents: number;
		quantity: number;
	}[];
	return {
		id: row.id as number,
		userId: row.user_id as number,
		status: row.status as OrderStatus,
		totalCents: row.total_cents as number,
		createdAt: row.created_at as string,
		items: items.map((item) => ({
			bookId: item.book_id,
			title: item.title,
			unitPriceCents: item.unit_price_cents,
			quantity: item.quantity,
		})),
	};
}

export async function listOrders(
	db: Db,
	query: { userId?: number; status?: OrderStatus; beforeId?: number; limit: number },
): Promise<OrderView[]> {
	const conditions = [
		query.userId !== undefined ? sql`o.user_id = ${query.userId}` : undefined,
		query.status ? sql`o.status = ${query.status}` : undefined,
		query.beforeId !== undefined ? sql`o.id < ${query.beforeId}` : undefined,
	].filter((condition): condition is SQL => condition !== undefined);
	const where = conditions.length > 0 ? sql.join(conditions, sql` AND `) : sql`1 = 1`;
	const rows = await db.all<Record<string, unknown>>(selectOrders(where, query.limit + 1));
	return rows.map(toOrderView);
}

/** Another user's order is "not found". */
export async function getOrder(db: Db, userId: number, orderId: number): Promise<OrderView> {
	const [row] = await db.all<Record<string, unknown>>(
		selectOrders(sql`o.id = ${orderId} AND o.user_id = ${userId}`, 1),
	);
	if (!row) throw new AppError("ORDER_NOT_FOUND", "No order with this id", "id");
	return toOrderView(row);
}

export const orderByIdempotencyKey = (userId: number, key: string): SQL =>
	selectOrders(sql`o.user_id = ${userId} AND o.idempotency_key = ${key}`, 1);

export async function markPaymentCaptured(db: Db, orderId: number): Promise<void> {
	await db.run(sql`UPDATE payments SET status = 'captured', updated_at = ${new Date().toISOString()}
		WHERE order_id = ${orderId} AND status = 'authorized'`);
}
