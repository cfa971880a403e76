import type { AppRouteHandler } from "../../lib/app-env.ts";
import { AppError } from "../../lib/errors.ts";
import { PAGE_CONTENT_SECURITY_POLICY, pageLocale } from "../../lib/pages.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import { publishAfterCommit } from "../allocation/publish-outcome.ts";
import { bookNotFoundPage, bookPage } from "./books.pages.ts";
import type * as routes from "./books.routes.ts";
import { toBookResponse } from "./books.schemas.ts";
import { createBook, deleteBook, getBook, listBooks, updateBook } from "./books.service.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const query = c.req.valid("query");
	const rows = await listBooks(c.var.db, {
		q: query.q,
		author: query.author,
		genreId: query.genre_id,
		workId: query.work_id,
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
	const { book, outcome } = await createBook(c.var.db, {
		title: body.title,
		author: body.author,
		priceCents: body.price,
		isbn: body.isbn ?? null,
		description: body.description ?? null,
		genreId: body.genre_id ?? null,
		publishDate: body.publish_date ?? null,
		workId: body.work_id ?? null,
		format: body.format,
		stockQuantity: body.stock_quantity,
		allocation: body.allocation,
		holdHours: body.hold_hours,
		waveFactor: body.wave_factor,
		waveMinutes: body.wave_minutes,
		demandAlertThreshold: body.demand_alert_threshold ?? null,
	});
	await publishAfterCommit(c, outcome);
	return c.json(toBookResponse(book), 201);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
	const body = c.req.valid("json");
	// undefined leaves a column alone; null (allowed for optional fields) clears it.
	const { book, outcome } = await updateBook(c.var.db, c.req.valid("param").id, {
		title: body.title,
		author: body.author,
		priceCents: body.price,
		isbn: body.isbn,
		description: body.description,
		genreId: body.genre_id,
		publishDate: body.publish_date,
		workId: body.work_id,
		format: body.format,
		allocation: body.allocation,
		holdHours: body.hold_hours,
		waveFactor: body.wave_factor,
		waveMinutes: body.wave_minutes,
		demandAlertThreshold: body.demand_alert_threshold,
	});
	await publishAfterCommit(c, outcome);
	return c.json(toBookResponse(book), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
	await publishAfterCommit(c, await deleteBook(c.var.db, c.req.valid("param").id));
	return c.body(null, 204);
};

export const page: AppRouteHandler<typeof routes.page> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const locale = pageLocale(c);
	try {
		const book = await getBook(c.var.db, c.req.valid("param").id);
		return c.html(
			bookPage(locale, { ...book, availableQuantity: book.stockQuantity - book.heldQuantity }),
			200,
		);
	} catch (err) {
		if (err instanceof AppError && err.code === "BOOK_NOT_FOUND")
			return c.html(bookNotFoundPage(locale), 404);
		throw err;
	}
};
