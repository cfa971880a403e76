import { z } from "@hono/zod-openapi";
import type { GenreRow } from "../../db/schema.ts";

export const GenreSchema = z.object({ id: z.number().int(), name: z.string() }).openapi("Genre");

export const GenreCreate = z
	.object({ name: z.string({ message: "name is required" }).trim().min(1).max(100) })
	.openapi("GenreCreate");

export const toGenreResponse = (genre: GenreRow): z.infer<typeof GenreSchema> => ({
	id: genre.id,
	name: genre.name,
});
