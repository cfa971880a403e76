import { z } from "@hono/zod-openapi";
import type { GenreRow } from "../../db/schema.ts";
import { singleLineText } from "../../lib/text.ts";

export const GenreSchema = z.object({ id: z.number().int(), name: z.string() }).openapi("Genre");

export const GenreCreate = z.object({ name: singleLineText("name", { max: 100 }) }).openapi("GenreCreate");

export const toGenreResponse = (genre: Pick<GenreRow, "id" | "name">): z.infer<typeof GenreSchema> => ({
	id: genre.id,
	name: genre.name,
});
