import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import { notModified, publicCatalog } from "../../lib/http-cache.ts";
import {
	adminErrors,
	bodyErrors,
	cacheHeaders,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	noContent,
	paramErrors,
	publicRoute,
} from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
import { searchText } from "../../lib/text.ts";
import { WorkCreate, WorkPatch, WorkSchema } from "./works.schemas.ts";

const workId = z.object({ id: idParam("id") });
const notFound = { 404: ["WORK_NOT_FOUND"] } as const;

const listQuery = pageQuery.extend({
	q: searchText("q")
		.optional()
		.openapi({ param: { name: "q", in: "query" } }),
});

export const list = createRoute({
	operationId: "listWorks",
	...publicRoute,
	method: "get",
	path: "/works",
	tags: ["Catalog"],
	summary: "Browse the works, with their editions",
	description:
		"Ordered by id. `q` (1–200 characters) matches part of the title or author, ignoring ASCII case. Each work lists its editions (books) with their format and available copies.",
	...publicCatalog(listQuery),
	request: { query: listQuery },
	responses: {
		200: jsonResponse(pageSchema(WorkSchema).openapi("WorkPage"), "A page of works", cacheHeaders),
		...notModified,
		...errorResponses(paramErrors),
	},
});

export const get = createRoute({
	operationId: "getWork",
	...publicRoute,
	method: "get",
	path: "/works/{id}",
	tags: ["Catalog"],
	summary: "One work and its editions",
	...publicCatalog(),
	request: { params: workId },
	responses: {
		200: jsonResponse(WorkSchema, "The work", cacheHeaders),
		...notModified,
		...errorResponses({ ...notFound, ...paramErrors }),
	},
});

export const create = createRoute({
	operationId: "createWork",
	method: "post",
	path: "/works",
	tags: ["Catalog"],
	summary: "Add a work (admin)",
	description: "Editions join it with `work_id` on `POST /books` or `PATCH /books/{id}`.",
	...adminOnly,
	request: { body: jsonBody(WorkCreate) },
	responses: {
		201: jsonResponse(WorkSchema, "The new work"),
		...errorResponses({ ...adminErrors, ...bodyErrors }),
	},
});

export const update = createRoute({
	operationId: "updateWork",
	method: "patch",
	path: "/works/{id}",
	tags: ["Catalog"],
	summary: "Edit a work (admin)",
	...adminOnly,
	request: { params: workId, body: jsonBody(WorkPatch) },
	responses: {
		200: jsonResponse(WorkSchema, "The updated work"),
		...errorResponses({ ...adminErrors, ...bodyErrors, ...notFound }),
	},
});

export const remove = createRoute({
	operationId: "deleteWork",
	method: "delete",
	path: "/works/{id}",
	tags: ["Catalog"],
	summary: "Delete a work (admin)",
	description:
		"Its editions keep existing, with `work_id` null. Refused while a pre-booking of the work is active (waiting, or offered a copy of an edition); its closed pre-bookings that were given an edition stay (with that `book_id`), those cancelled before go with the work.",
	...adminOnly,
	request: { params: workId },
	responses: {
		204: noContent("Deleted"),
		...errorResponses({
			...adminErrors,
			...notFound,
			...paramErrors,
			409: {
				codes: ["WORK_HAS_PREBOOKINGS"],
				description: "A pre-booking of this work is waiting or offered",
			},
		}),
	},
});
