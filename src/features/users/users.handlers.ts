import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import type { AppRouteHandler } from "../../types.ts";
import type * as routes from "./users.routes.ts";
import { toUserResponse } from "./users.schemas.ts";
import { getUser, listUsers, updateUser } from "./users.service.ts";

export const me: AppRouteHandler<typeof routes.me> = async (c) =>
	c.json(toUserResponse(await getUser(c.var.db, c.var.caller.id)), 200);

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const { q, limit, cursor } = c.req.valid("query");
	const rows = await listUsers(c.var.db, { q, afterId: decodeCursor(cursor, idCursor)?.id, limit });
	return c.json(
		toPage(rows, limit, toUserResponse, (row) => ({ id: row.id })),
		200,
	);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
	const body = c.req.valid("json");
	const user = await updateUser(c.var.db, c.var.caller.id, c.req.valid("param").id, {
		isActive: body.is_active,
		role: body.role,
	});
	return c.json(toUserResponse(user), 200);
};
