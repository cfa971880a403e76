import { decodeCursor, newestFirstCursor, toPage } from "../../lib/pagination.ts";
import type { AppRouteHandler } from "../../types.ts";
import type * as routes from "./prebooks.routes.ts";
import { toDemandItem, toPrebookResponse } from "./prebooks.schemas.ts";
import { cancelPrebook, createPrebook, getPrebook, listPrebooks, waitingDemand } from "./prebooks.service.ts";

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
	const prebook = await createPrebook(c.var.db, c.var.caller.id, c.req.valid("json").book_id);
	return c.json(toPrebookResponse(prebook), 201);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const { status, limit, cursor } = c.req.valid("query");
	const after = decodeCursor(cursor, newestFirstCursor);
	const rows = await listPrebooks(c.var.db, c.var.caller.id, { status, after, limit });
	return c.json(
		toPage(rows, limit, toPrebookResponse, (row) => ({ at: row.createdAt, id: row.id })),
		200,
	);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) =>
	c.json(toPrebookResponse(await getPrebook(c.var.db, c.var.caller.id, c.req.valid("param").id)), 200);

export const cancel: AppRouteHandler<typeof routes.cancel> = async (c) => {
	await cancelPrebook(c.var.db, c.var.caller.id, c.req.valid("param").id);
	return c.body(null, 204);
};

export const demand: AppRouteHandler<typeof routes.demand> = async (c) => {
	const rows = await waitingDemand(c.var.db, c.req.valid("query").limit);
	return c.json({ items: rows.map(toDemandItem) }, 200);
};
