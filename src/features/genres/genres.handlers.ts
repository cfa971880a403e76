import type { AppRouteHandler } from "../../lib/app-env.ts";
import { forgetGenres } from "../../lib/http-cache.ts";
import type * as routes from "./genres.routes.ts";
import { toGenreResponse } from "./genres.schemas.ts";
import { createGenre, listGenres } from "./genres.service.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) =>
	c.json({ items: (await listGenres(c.var.db)).map(toGenreResponse) }, 200);

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
	const genre = await createGenre(c.var.db, c.req.valid("json").name);
	await forgetGenres(c);
	return c.json(toGenreResponse(genre), 201);
};
