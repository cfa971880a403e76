import type { AppRouteHandler } from "../../lib/app-env.ts";
import { logEvent } from "../../lib/log.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import { publishAfterCommit } from "../allocation/publish-outcome.ts";
import { toBookResponse } from "../books/books.schemas.ts";
import type * as routes from "./restocks.routes.ts";
import { toRestockResponse } from "./restocks.schemas.ts";
import { listRestocks, replayDeadDeliveries, setStock as setBookStock } from "./restocks.service.ts";

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

export const setStock: AppRouteHandler<typeof routes.setStock> = async (c) => {
	const { book, outcome } = await setBookStock(
		c.var.db,
		c.var.caller.id,
		c.req.valid("param").id,
		c.req.valid("json").quantity,
	);
	await publishAfterCommit(c, outcome);
	// The request's D1 cost beside what it notified (read by `npm run bench:restock`).
	for (const notice of outcome.notices) {
		logEvent("info", "restock_notified", {
			book_id: notice.bookId,
			restock_id: notice.restockId,
			notified: notice.count,
			d1_round_trips: c.var.d1Usage.roundTrips,
			d1_rows_read: c.var.d1Usage.rowsRead,
			d1_rows_written: c.var.d1Usage.rowsWritten,
		});
	}
	return c.json(toBookResponse(book), 200);
};
