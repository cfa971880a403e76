import { asc } from "drizzle-orm";
import { genres } from "../../db/schema.ts";
import { AppError } from "../../lib/errors.ts";
import { createRouter } from "../../lib/openapi.ts";
import * as routes from "./genres.routes.ts";

// Two-line CRUD: the handlers live with the router.
export const genresRouter = createRouter()
	.openapi(routes.list, async (c) => {
		const items = await c.var.db.select().from(genres).orderBy(asc(genres.name));
		return c.json({ items }, 200);
	})
	.openapi(routes.create, async (c) => {
		const { name } = c.req.valid("json");
		const [genre] = await c.var.db.insert(genres).values({ name }).onConflictDoNothing().returning();
		if (!genre) throw new AppError("GENRE_NAME_CONFLICT", "A genre with this name already exists", "name");
		return c.json(genre, 201);
	});
