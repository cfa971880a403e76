import type { AppRouteHandler } from "../../lib/app-env.ts";
import { forgetCatalog, forgetWorks } from "../../lib/http-cache.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
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
	const work = await createWork(c.var.db, c.req.valid("json"));
	await forgetWorks(c, [work.id]);
	return c.json(toWorkResponse(work), 201);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
	const id = c.req.valid("param").id;
	const work = await updateWork(c.var.db, id, c.req.valid("json"));
	await forgetWorks(c, [id]);
	return c.json(toWorkResponse(work), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
	const id = c.req.valid("param").id;
	const { editionIds } = await deleteWork(c.var.db, id);
	// Its editions' `work_id` is null now.
	await Promise.all([forgetWorks(c, [id]), forgetCatalog(c, editionIds)]);
	return c.body(null, 204);
};
