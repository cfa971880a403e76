import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import { adminErrors, bodyErrors, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi.ts";

export const GenreSchema = z.object({ id: z.number().int(), name: z.string() }).openapi("Genre");

export const list = createRoute({
	method: "get",
	path: "/genres",
	tags: ["Catalog"],
	summary: "All genres, by name",
	responses: {
		200: jsonResponse(z.object({ items: z.array(GenreSchema) }).openapi("GenreList"), "Every genre"),
		...errorResponses({}),
	},
});

export const create = createRoute({
	method: "post",
	path: "/genres",
	tags: ["Catalog"],
	summary: "Create a genre (admin)",
	...adminOnly,
	request: {
		body: jsonBody(
			z
				.object({ name: z.string({ message: "name is required" }).trim().min(1).max(100) })
				.openapi("GenreCreate"),
		),
	},
	responses: {
		201: jsonResponse(GenreSchema, "The new genre"),
		...errorResponses({
			...adminErrors,
			...bodyErrors,
			409: "GENRE_NAME_CONFLICT: a genre with this name exists (names compare case-insensitively)",
		}),
	},
});
