/**
 * Keyset pagination: `{items, next_cursor}`. The cursor is an opaque base64url JSON of the last row's sort
 * key; the next page continues strictly after it, so pages never skip or repeat rows as data changes.
 */
import { z } from "@hono/zod-openapi";
import { type AnyColumn, sql } from "drizzle-orm";
import { fromBase64Url, toBase64Url } from "./encoding.ts";
import { fieldError } from "./errors.ts";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;

/**
 * `limit`: digits only, 1 to 100, as every other number of a query (`idParam`) — a coercion took `0x10`,
 * `1e1`, `+5` and ` 16` as numbers.
 */
export const limitParam = z
	.string()
	.regex(/^(?:[1-9]\d?|100)$/, `limit must be an integer from 1 to ${MAX_LIMIT}`)
	.transform(Number)
	.default(DEFAULT_LIMIT)
	.openapi({
		param: { name: "limit", in: "query" },
		example: DEFAULT_LIMIT,
		type: "integer",
		minimum: 1,
		maximum: MAX_LIMIT,
		default: DEFAULT_LIMIT,
	});

const cursorParam = z
	.string()
	.max(512)
	.optional()
	.openapi({ param: { name: "cursor", in: "query" }, description: "`next_cursor` of the previous page" });

/** The cursor of lists ordered by id ascending. */
export const idCursor = z.object({ id: z.number().int().positive() });

/** The cursor of lists ordered newest first: the last row's timestamp, then its id to break ties. */
export const newestFirstCursor = z.object({ at: z.string().max(40), id: z.number().int().positive() });
export type NewestFirstCursor = z.infer<typeof newestFirstCursor>;

export const pageQuery = z.object({ limit: limitParam, cursor: cursorParam });

/**
 * Rows strictly after the cursor in newest-first order (`ORDER BY at DESC, id DESC`): a row-value
 * comparison, so an index on (…, at, id) seeks straight to the page.
 */
export const newestFirstAfter = (at: AnyColumn, id: AnyColumn, cursor: NewestFirstCursor | undefined) =>
	cursor ? sql`(${at}, ${id}) < (${cursor.at}, ${cursor.id})` : undefined;

function encodeCursor(key: unknown): string {
	return toBase64Url(new TextEncoder().encode(JSON.stringify(key)));
}

/** Decodes a cursor made by `encodeCursor`; anything else is a VALIDATION_ERROR on `cursor`. */
export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
	if (cursor === undefined) return undefined;
	try {
		const parsed = schema.safeParse(JSON.parse(new TextDecoder().decode(fromBase64Url(cursor))));
		if (parsed.success) return parsed.data;
	} catch {
		// fall through: not base64url JSON
	}
	throw fieldError("cursor", "cursor is not a cursor this endpoint returned");
}

/** `rows` were fetched with `limit + 1`: the extra row only says whether another page exists. */
export function toPage<Row, Item>(
	rows: Row[],
	limit: number,
	toItem: (row: Row) => Item,
	cursorKey: (row: Row) => unknown,
): { items: Item[]; next_cursor: string | null } {
	const pageRows = rows.slice(0, limit);
	const last = pageRows.at(-1);
	return {
		items: pageRows.map(toItem),
		next_cursor: rows.length > limit && last !== undefined ? encodeCursor(cursorKey(last)) : null,
	};
}

export const pageSchema = <T extends z.ZodType>(item: T) =>
	z.object({ items: z.array(item), next_cursor: z.string().nullable() });
