import { createDb } from "../../lib/db.ts";
import { logEvent } from "../../lib/log.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import { confirmPublished } from "../../notifications/relay.ts";
import type { AppRouteHandler } from "../../types.ts";
import { publishRestock, restockBook } from "../prebooks/restock.service.ts";
import type * as routes from "./books.routes.ts";
import { toBookResponse } from "./books.schemas.ts";
import { createBook, deleteBook, getBook, listBooks, updateBook } from "./books.service.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const query = c.req.valid("query");
	const rows = await listBooks(c.var.db, {
		q: query.q,
		author: query.author,
		genreId: query.genre_id,
		inStock: query.in_stock,
		afterId: decodeCursor(query.cursor, idCursor)?.id,
		limit: query.limit,
	});
	return c.json(
		toPage(rows, query.limit, toBookResponse, (row) => ({ id: row.id })),
		200,
	);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) =>
	c.json(toBookResponse(await getBook(c.var.db, c.req.valid("param").id)), 200);

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
	const body = c.req.valid("json");
	const book = await createBook(c.var.db, {
		title: body.title,
		author: body.author,
		priceCents: body.price,
		isbn: body.isbn ?? null,
		description: body.description ?? null,
		genreId: body.genre_id ?? null,
		publishDate: body.publish_date ?? null,
		stockQuantity: body.stock_quantity,
	});
	return c.json(toBookResponse(book), 201);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
	const body = c.req.valid("json");
	// undefined leaves a column alone; null (allowed for optional fields) clears it.
	const book = await updateBook(c.var.db, c.req.valid("param").id, {
		title: body.title,
		author: body.author,
		priceCents: body.price,
		isbn: body.isbn,
		description: body.description,
		genreId: body.genre_id,
		publishDate: body.publish_date,
	});
	return c.json(toBookResponse(book), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
	await deleteBook(c.var.db, c.req.valid("param").id);
	return c.body(null, 204);
};

export const stock: AppRouteHandler<typeof routes.setStock> = async (c) => {
	const bookId = c.req.valid("param").id;
	const { book, notification } = await restockBook(
		c.var.db,
		c.var.caller.id,
		bookId,
		c.req.valid("json").quantity,
	);
	if (notification) {
		// Published before answering: the response time includes the fan-out (see `npm run bench`).
		if (await publishRestock(c.env.PREBOOK_QUEUE, bookId, notification)) {
			// Confirmed after the response, on its own client (the request itself stays at two round trips).
			// Until it is written, or if the Worker dies first, the cron relay republishes; the ledger dedupes.
			c.executionCtx.waitUntil(confirmPublished(createDb(c.env.DB), notification.restockId));
		}
		const usage = c.var.d1Usage;
		logEvent("info", "restock_notified", {
			book_id: bookId,
			restock_id: notification.restockId,
			notified: notification.userIds.length,
			d1_round_trips: usage.roundTrips,
			d1_rows_read: usage.rowsRead,
			d1_rows_written: usage.rowsWritten,
		});
	}
	return c.json(toBookResponse(book), 200);
};
