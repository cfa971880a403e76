import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import { notModified, publicCatalog } from "../../lib/http-cache.ts";
import {
	adminErrors,
	bodyErrors,
	cacheHeaders,
	errorResponses,
	jsonBody,
	jsonResponse,
	publicRoute,
} from "../../lib/openapi.ts";
import { GenreCreate, GenreSchema } from "./genres.schemas.ts";

export const list = createRoute({
	operationId: "listGenres",
	...publicRoute,
	method: "get",
	path: "/genres",
	tags: ["Catalog"],
	summary: "All genres, by name",
	...publicCatalog(),
	responses: {
		200: jsonResponse(
			z.object({ items: z.array(GenreSchema) }).openapi("GenreList"),
			"Every genre",
			cacheHeaders,
		),
		...notModified,
		...errorResponses({}),
	},
});

export const create = createRoute({
	operationId: "createGenre",
	method: "post",
	path: "/genres",
	tags: ["Catalog"],
	summary: "Create a genre (admin)",
	...adminOnly,
	request: {
		body: jsonBody(GenreCreate),
	},
	responses: {
		201: jsonResponse(GenreSchema, "The new genre"),
		...errorResponses({
			...adminErrors,
			...bodyErrors,
			409: {
				codes: ["GENRE_NAME_CONFLICT"],
				description:
					"A genre with this name exists (names compare after NFKC normalisation and case folding)",
			},
		}),
	},
});
