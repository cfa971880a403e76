import type { AppRouteHandler } from "../../lib/app-env.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import { publishAfterCommit } from "../allocation/publish-outcome.ts";
import type * as routes from "./works.routes.ts";
import { toWorkResponse } from "./works.schemas.ts";
import { createWork, deleteWork, getWork, listWorks, updateWork } from "./works.service.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const query = c.req.valid("query");
	const rows = await listWorks(c.var.db, {
		q: query.q,
		afterId: decodeCursor(query.cursor, idCursor)?.id,
		limit: query.limit,
	});
	return c.json(
		toPage(rows, query.limit, toWorkResponse, (row) => ({ id: row.id })),
		200,
	);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) =>
	c.json(toWorkResponse(await getWork(c.var.db, c.req.valid("param").id)), 200);

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
	const { work, outcome } = await createWork(c.var.db, c.req.valid("json"));
	await publishAfterCommit(c, outcome);
	return c.json(toWorkResponse(work), 201);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
	const { work, outcome } = await updateWork(c.var.db, c.req.valid("param").id, c.req.valid("json"));
	await publishAfterCommit(c, outcome);
	return c.json(toWorkResponse(work), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
	await publishAfterCommit(c, await deleteWork(c.var.db, c.req.valid("param").id));
	return c.body(null, 204);
};
