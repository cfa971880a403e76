import type { AppRouteHandler } from "../../lib/app-env.ts";
import type * as routes from "./inbound.routes.ts";
import { toInboundResponse } from "./inbound.schemas.ts";
import { addInbound, listInbound, removeInbound } from "./inbound.service.ts";

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
	const { quantity, expected_at } = c.req.valid("json");
	const row = await addInbound(c.var.db, c.req.valid("param").id, { quantity, expectedAt: expected_at });
	return c.json(toInboundResponse(row), 201);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const rows = await listInbound(c.var.db, c.req.valid("param").id);
	return c.json({ items: rows.map(toInboundResponse) }, 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
	const { id, inbound_id } = c.req.valid("param");
	await removeInbound(c.var.db, id, inbound_id);
	return c.body(null, 204);
};
