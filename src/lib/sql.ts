import { type SQL, type SQLWrapper, sql } from "drizzle-orm";

/**
 * `column` contains `text`, case-insensitively (SQLite's LIKE folds ASCII case). LIKE's wildcards in
 * `text` are escaped, so a search for "50%" means the characters "50%".
 */
export function containsText(column: SQLWrapper, text: string): SQL {
	const pattern = `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
	return sql`${column} LIKE ${pattern} ESCAPE '\\'`;
}
