import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import { notModified, publicCatalog } from "../../lib/http-cache.ts";
import {
	adminErrors,
	bodyErrors,
	booleanQuery,
	cacheHeaders,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	noContent,
	paramErrors,
	publicRoute,
	standardHeaders,
} from "../../lib/openapi.ts";
import { htmlPage } from "../../lib/pages.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
import { searchText, singleLineText } from "../../lib/text.ts";
import { BookCreate, BookPatch, BookSchema } from "./books.schemas.ts";

const bookId = z.object({ id: idParam("id") });
const notFound = { 404: ["BOOK_NOT_FOUND"] } as const;

const listQuery = pageQuery.extend({
	q: searchText("q")
		.optional()
		.openapi({ param: { name: "q", in: "query" } }),
	author: singleLineText("author", { max: 255 })
		.optional()
		.openapi({ param: { name: "author", in: "query" } }),
	genre_id: idParam("genre_id", "query").optional(),
	work_id: idParam("work_id", "query").optional(),
	in_stock: booleanQuery.optional().openapi({ param: { name: "in_stock", in: "query" }, type: "boolean" }),
});

export const list = createRoute({
	operationId: "listBooks",
	...publicRoute,
	method: "get",
	path: "/books",
	tags: ["Catalog"],
	summary: "Browse the catalog",
	...publicCatalog(listQuery),
	description:
		"Ordered by id. `q` (1–200 characters) matches part of the title or author, `author` the whole author name; both ignore ASCII case, and `%` or `_` are plain characters. `work_id`: the editions of that work. `in_stock` is on `available_quantity`.",
	request: { query: listQuery },
	responses: {
		200: jsonResponse(pageSchema(BookSchema).openapi("BookPage"), "A page of books", cacheHeaders),
		...notModified,
		...errorResponses(paramErrors),
	},
});

export const get = createRoute({
	operationId: "getBook",
	...publicRoute,
	method: "get",
	path: "/books/{id}",
	tags: ["Catalog"],
	summary: "One book",
	...publicCatalog(),
	request: { params: bookId },
	responses: {
		200: jsonResponse(BookSchema, "The book", cacheHeaders),
		...notModified,
		...errorResponses({ ...notFound, ...paramErrors }),
	},
});

export const create = createRoute({
	operationId: "createBook",
	method: "post",
	path: "/books",
	tags: ["Catalog"],
	summary: "Add a book (admin)",
	...adminOnly,
	request: { body: jsonBody(BookCreate) },
	responses: {
		201: jsonResponse(BookSchema, "The new book"),
		...errorResponses({
			...adminErrors,
			...bodyErrors,
			404: {
				codes: ["GENRE_NOT_FOUND", "WORK_NOT_FOUND"],
				description: "No genre with this `genre_id`, or no work with this `work_id`",
			},
			409: { codes: ["BOOK_ISBN_CONFLICT"], description: "A book has this ISBN (either form)" },
		}),
	},
});

export const update = createRoute({
	operationId: "updateBook",
	method: "patch",
	path: "/books/{id}",
	tags: ["Catalog"],
	summary: "Edit a book (admin)",
	description: "Stock changes go through `PATCH /books/{id}/stock`; `stock_quantity` here is ignored.",
	...adminOnly,
	request: { params: bookId, body: jsonBody(BookPatch) },
	responses: {
		200: jsonResponse(BookSchema, "The updated book"),
		...errorResponses({
			...adminErrors,
			...bodyErrors,
			404: {
				codes: ["BOOK_NOT_FOUND", "GENRE_NOT_FOUND", "WORK_NOT_FOUND"],
				description: "No such book, no genre with this `genre_id`, or no work with this `work_id`",
			},
			409: { codes: ["BOOK_ISBN_CONFLICT"], description: "Another book has this ISBN (either form)" },
		}),
	},
});

export const remove = createRoute({
	operationId: "deleteBook",
	method: "delete",
	path: "/books/{id}",
	tags: ["Catalog"],
	summary: "Delete a book (admin)",
	// API.md says only "204, then 404"; where it is silent the OpenAPI document says what happens (the
	// schema's ON DELETE rules, asserted by test/book-deletion.test.ts).
	description:
		"The book's pre-bookings go with it, whatever their status (held copies included: `GET /prebooks/{id}` answers 404 afterwards, and no email, expiry or offer follows), and so do its cart lines, wishlist entries and restock history. Orders keep their items, with the title and price they had and `book_id` null. One exception: a work (any edition) pre-booking that this edition held a copy for waits again for its work's other editions, its place kept and no pass spent, and is served at once if one has a copy; work pre-bookings the edition notified or sold go with it.",
	...adminOnly,
	request: { params: bookId },
	responses: {
		204: noContent("Deleted"),
		...errorResponses({ ...adminErrors, ...notFound, ...paramErrors }),
	},
});

export const page = createRoute({
	operationId: "showBookPage",
	...publicRoute,
	method: "get",
	path: "/books/{id}/page",
	tags: ["Catalog"],
	summary: "A book as a small HTML page (the emails' book link when there is no storefront)",
	description:
		"When `APP_URL` is this API (no storefront of its own), restock and held-copy emails link here: the title, author, price and availability, in the language of `Accept-Language`. A read; never cached by the Worker.",
	request: { params: bookId },
	responses: {
		200: { ...htmlPage("The book"), headers: standardHeaders },
		404: { ...htmlPage("No such book"), headers: standardHeaders },
		...errorResponses(paramErrors),
	},
});
