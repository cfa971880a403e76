import { asc } from "drizzle-orm";
import { genres } from "../../db/schema.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { genreKey } from "../../lib/genre-name.ts";

const genreColumns = { id: genres.id, name: genres.name };

export function listGenres(db: Db) {
	return db.select(genreColumns).from(genres).orderBy(asc(genres.name));
}

/**
 * One round trip: a name whose key (NFKC + case folding) is taken is left alone by the unique index, so
 * "Fiction", "FICTION" and "ｆｉｃｔｉｏｎ" are one genre whatever the race.
 */
export async function createGenre(db: Db, name: string) {
	const [genre] = await db
		.insert(genres)
		.values({ name, nameKey: genreKey(name) })
		.onConflictDoNothing()
		.returning(genreColumns);
	if (!genre) throw new AppError("GENRE_NAME_CONFLICT", "A genre with this name already exists", "name");
	return genre;
}
