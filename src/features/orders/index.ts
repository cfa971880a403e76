import { createDb } from "../../lib/db.ts";
import { formatCents } from "../../lib/money.ts";
import { createRouter } from "../../lib/openapi.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import { checkout } from "./checkout.service.ts";
import * as routes from "./orders.routes.ts";
import { getOrder, listOrders, markPaymentCaptured, type OrderView } from "./orders.service.ts";
import { paymentProviderFor } from "./payment.ts";

export const toOrderResponse = (order: OrderView) => ({
	id: order.id,
	status: order.status,
	total: formatCents(order.totalCents),
	items: order.items.map((item) => ({
		book_id: item.bookId,
		title: item.title,
		unit_price: formatCents(item.unitPriceCents),
		quantity: item.quantity,
	})),
	created_at: order.createdAt,
});

export const ordersRouter = createRouter()
	.openapi(routes.checkout, async (c) => {
		const result = await checkout(c.var.db, paymentProviderFor(c.env), c.var.caller.id, {
			paymentToken: c.req.valid("json").payment_token,
			idempotencyKey: c.req.valid("header")["idempotency-key"],
		});
		// Recorded after the response on its own client: the request stays at three round trips.
		if (result.captured) c.executionCtx.waitUntil(markPaymentCaptured(createDb(c.env.DB), result.order.id));
		if (result.replayed) c.header("Idempotent-Replayed", "true");
		return c.json(toOrderResponse(result.order), 201);
	})
	.openapi(routes.list, async (c) => {
		const { limit, cursor } = c.req.valid("query");
		const orders = await listOrders(c.var.db, {
			userId: c.var.caller.id,
			beforeId: decodeCursor(cursor, idCursor)?.id,
			limit,
		});
		return c.json(
			toPage(orders, limit, toOrderResponse, (order) => ({ id: order.id })),
			200,
		);
	})
	.openapi(routes.get, async (c) =>
		c.json(toOrderResponse(await getOrder(c.var.db, c.var.caller.id, c.req.valid("param").id)), 200),
	)
	.openapi(routes.adminList, async (c) => {
		const { limit, cursor, status, user_id } = c.req.valid("query");
		const orders = await listOrders(c.var.db, {
			userId: user_id,
			status,
			beforeId: decodeCursor(cursor, idCursor)?.id,
			limit,
		});
		return c.json(
			toPage(
				orders,
				limit,
				(order) => ({ ...toOrderResponse(order), user_id: order.userId }),
				(order) => ({
					id: order.id,
				}),
			),
			200,
		);
	});
