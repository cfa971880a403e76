import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, idParam, jsonResponse, paramErrors, publicRoute } from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
import { DrawSchema, EntrySchema } from "./draws.schemas.ts";

export const list = createRoute({
	operationId: "listDraws",
	...publicRoute,
	method: "get",
	path: "/books/{id}/draws",
	tags: ["Catalog"],
	summary: "A lottery book's draws, newest first",
	description:
		"The open draw shows its `seed_commitment` before anyone enters; a closed one its `seed`, so anyone can check that SHA-256 of the seed is the commitment, recompute every score and see that the winners are the lowest (docs/lottery.md has a verifier).",
	request: { params: z.object({ id: idParam("id") }), query: pageQuery },
	responses: {
		200: jsonResponse(pageSchema(DrawSchema).openapi("DrawPage"), "A page of draws"),
		...errorResponses({ 404: ["BOOK_NOT_FOUND"], ...paramErrors }),
	},
});

export const entries = createRoute({
	operationId: "listDrawEntries",
	...publicRoute,
	method: "get",
	path: "/books/{id}/draws/{draw_id}/entries",
	tags: ["Catalog"],
	summary: "A closed draw's entries, by score",
	description: "Pre-booking ids, scores and whether each won; no personal data.",
	request: {
		params: z.object({ id: idParam("id"), draw_id: idParam("draw_id") }),
		query: pageQuery,
	},
	responses: {
		200: jsonResponse(
			pageSchema(EntrySchema).openapi("DrawEntryPage"),
			"A page of entries, lowest score first",
		),
		...errorResponses({
			404: { codes: ["DRAW_NOT_FOUND"], description: "No such draw for this book" },
			409: { codes: ["DRAW_OPEN"], description: "The draw is not closed yet" },
			...paramErrors,
		}),
	},
});
