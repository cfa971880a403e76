import { type SQL, type SQLWrapper, sql } from "drizzle-orm";

/**
 * `column` contains `text`, ignoring ASCII case: `instr(lower(column), lower(text)) > 0`.
 *
 * Not LIKE: D1 refuses LIKE/GLOB patterns longer than 50 bytes ("LIKE or GLOB pattern too complex"), and a
 * search may be 200 characters. instr() takes no pattern, so "%", "_" and "\" in `text` are literal with
 * no escaping, at any length. SQLite's lower() folds ASCII letters only ("É" and "é" stay different), the
 * same case rule LIKE had. Neither form can use an index: a contains-search scans.
 */
export function containsText(column: SQLWrapper, text: string): SQL {
	return sql`instr(lower(${column}), lower(${text})) > 0`;
}
