import type { AppRouteHandler } from "../../lib/app-env.ts";
import { requestEffects } from "../../lib/effects.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import { publishAfterCommit } from "../allocation/publish-outcome.ts";
import { checkout as buyCart } from "./checkout.service.ts";
import type * as routes from "./orders.routes.ts";
import { toAdminOrderResponse, toOrderResponse } from "./orders.schemas.ts";
import { getOrder, listOrders, markPaymentCaptured } from "./orders.service.ts";
import { paymentProviders } from "./payment.ts";

export const checkout: AppRouteHandler<typeof routes.checkout> = async (c) => {
	const result = await buyCart(c.var.db, paymentProviders[c.var.config.paymentProvider], c.var.caller.id, {
		paymentToken: c.req.valid("json").payment_token,
		idempotencyKey: c.req.valid("header")["idempotency-key"],
	});
	const effects = requestEffects(c);
	// Recorded after the response on the system client: the request's round trips stay at two.
	if (result.captured) effects.afterResponse(markPaymentCaptured(effects.systemDb, result.order.id));
	if (result.replayed) c.header("Idempotent-Replayed", "true");
	await publishAfterCommit(c, result.outcome);
	return c.json(toOrderResponse(result.order), 201);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
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
};

export const get: AppRouteHandler<typeof routes.get> = async (c) =>
	c.json(toOrderResponse(await getOrder(c.var.db, c.var.caller.id, c.req.valid("param").id)), 200);

export const adminList: AppRouteHandler<typeof routes.adminList> = async (c) => {
	const { limit, cursor, status, user_id } = c.req.valid("query");
	const orders = await listOrders(c.var.db, {
		userId: user_id,
		status,
		beforeId: decodeCursor(cursor, idCursor)?.id,
		limit,
	});
	return c.json(
		toPage(orders, limit, toAdminOrderResponse, (order) => ({ id: order.id })),
		200,
	);
};
