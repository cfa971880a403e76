import { asc } from "drizzle-orm";
import { type GenreRow, genres } from "../../db/schema.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";

export function listGenres(db: Db): Promise<GenreRow[]> {
	return db.select().from(genres).orderBy(asc(genres.name));
}

/** One round trip: a name that is already taken is left alone by the unique index. */
export async function createGenre(db: Db, name: string): Promise<GenreRow> {
	const [genre] = await db.insert(genres).values({ name }).onConflictDoNothing().returning();
	if (!genre) throw new AppError("GENRE_NAME_CONFLICT", "A genre with this name already exists", "name");
	return genre;
}
