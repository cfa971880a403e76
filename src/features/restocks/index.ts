import { createRouter } from "../../lib/openapi.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import * as routes from "./restocks.routes.ts";
import { listRestocks, replayDeadDeliveries } from "./restocks.service.ts";

export const restocksRouter = createRouter()
	.openapi(routes.list, async (c) => {
		const { limit, cursor } = c.req.valid("query");
		const rows = await listRestocks(c.var.db, { beforeId: decodeCursor(cursor, idCursor)?.id, limit });
		return c.json(
			toPage(
				rows,
				limit,
				(row) => ({
					id: row.id,
					book_id: row.bookId,
					book_title: row.bookTitle,
					quantity_before: row.quantityBefore,
					quantity_after: row.quantityAfter,
					notified_count: row.notifiedCount,
					sent_count: row.sentCount,
					failed_count: row.failedCount,
					dead_count: row.deadCount,
					created_at: row.createdAt,
					published_at: row.publishedAt,
				}),
				(row) => ({ id: row.id }),
			),
			200,
		);
	})
	.openapi(routes.replay, async (c) => {
		const restockId = c.req.valid("param").id;
		const requeued = await replayDeadDeliveries(c.var.db, c.env.PREBOOK_QUEUE, restockId);
		return c.json({ restock_id: restockId, requeued }, 202);
	});
