import type { AppRouteHandler } from "../../lib/app-env.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import type * as routes from "./draws.routes.ts";
import { entryCursor, toDrawResponse, toEntryResponse } from "./draws.schemas.ts";
import { listDraws, listEntries } from "./draws.service.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const { limit, cursor } = c.req.valid("query");
	const rows = await listDraws(c.var.db, c.req.valid("param").id, {
		beforeId: decodeCursor(cursor, idCursor)?.id,
		limit,
	});
	return c.json(
		toPage(rows, limit, toDrawResponse, (row) => ({ id: row.id })),
		200,
	);
};

export const entries: AppRouteHandler<typeof routes.entries> = async (c) => {
	const { id, draw_id } = c.req.valid("param");
	const { limit, cursor } = c.req.valid("query");
	const rows = await listEntries(c.var.db, id, draw_id, { after: decodeCursor(cursor, entryCursor), limit });
	return c.json(
		toPage(rows, limit, toEntryResponse, (row) => ({ score: row.score, id: row.prebookId })),
		200,
	);
};
