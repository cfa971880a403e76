import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import type { AppRouteHandler } from "../../types.ts";
import { publishAfterCommit } from "../allocation/outcome.ts";
import type * as routes from "./restocks.routes.ts";
import { toRestockResponse } from "./restocks.schemas.ts";
import { listRestocks, replayDeadDeliveries } from "./restocks.service.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const { limit, cursor } = c.req.valid("query");
	const rows = await listRestocks(c.var.db, { beforeId: decodeCursor(cursor, idCursor)?.id, limit });
	return c.json(
		toPage(rows, limit, toRestockResponse, (row) => ({ id: row.id })),
		200,
	);
};

export const replay: AppRouteHandler<typeof routes.replay> = async (c) => {
	const restockId = c.req.valid("param").id;
	const { revived, outcome } = await replayDeadDeliveries(c.var.db, restockId);
	await publishAfterCommit(c, outcome);
	return c.json({ restock_id: restockId, requeued: revived }, 202);
};
