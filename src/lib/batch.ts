/**
 * The typed batch: statements — drizzle builders, raw `sql` (`rawQuery`) and statement groups that carry
 * the reader of their own results — run as one D1 batch (one transaction, one round trip) on a `Db`
 * (lib/db.ts, whose binding adds the caller guard and counts the round trip), their results returned under
 * the names they were given.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { Db } from "./db.ts";

/**
 * A raw SQL statement for `batch`, with the row type its caller declares (SQL column names, driver values:
 * booleans are 0/1). Only for what drizzle's builders cannot say (conditional `INSERT … SELECT`,
 * `UPDATE … FROM json_each`, `RETURNING` of computed columns…).
 */
export interface RawQuery<Row> {
	readonly kind: "raw";
	readonly sql: SQL;
	/** Never set: carries the row type. */
	readonly row?: Row;
}

export const rawQuery = <Row = Record<string, never>>(query: SQL): RawQuery<Row> => ({
	kind: "raw",
	sql: query,
});

/**
 * A statement that does nothing: the slot of a named batch that this case does not need (a batch's shape
 * is fixed; its statements are not).
 */
export const noStatement = <Row = never>(): RawQuery<Row> => rawQuery<Row>(sql`SELECT 1 WHERE false`);

export type Statement = RawQuery<unknown> | BatchItem<"sqlite">;
type StatementResult<S> =
	S extends RawQuery<infer Row> ? Row[] : S extends BatchItem<"sqlite"> ? S["_"]["result"] : never;

/**
 * Statements that belong together in a caller's batch (a cancel, the engine's allocation) and the reader
 * of their own results: a caller appends the group to its batch by name and gets `read`'s value back, so
 * nobody counts positions in someone else's statements.
 */
export interface StatementGroup<T> {
	readonly kind: "group";
	readonly statements: readonly Statement[];
	read(results: readonly unknown[]): T;
}

/** A list of statements (as many as the data asks for) as one group, read as the list of their results. */
export function statementList<S extends Statement>(
	statements: readonly S[],
): StatementGroup<StatementResult<S>[]> {
	return { kind: "group", statements, read: (results) => results as StatementResult<S>[] };
}

/** Several groups as one, read as an array (the same statements for several books, say). */
export function groupAll<T>(groups: readonly StatementGroup<T>[]): StatementGroup<T[]> {
	return {
		kind: "group",
		statements: groups.flatMap((group) => group.statements),
		read: (results) => {
			let at = 0;
			return groups.map((group) => {
				const slice = results.slice(at, at + group.statements.length);
				at += group.statements.length;
				return group.read(slice);
			});
		},
	};
}

type BatchPart = Statement | StatementGroup<unknown>;
type PartResult<P> = P extends StatementGroup<infer T> ? T : P extends Statement ? StatementResult<P> : never;
const isGroup = (part: BatchPart): part is StatementGroup<unknown> => "kind" in part && part.kind === "group";

/** What drizzle's own `db.batch` calls on a builder (internal to drizzle, stable across 0.x). */
interface PreparedBuilder {
	getQuery(): { sql: string; params: unknown[] };
	mapResult(result: unknown, isFromBatch?: boolean): unknown;
}
const prepareBuilder = (builder: BatchItem<"sqlite">) =>
	(builder as unknown as { _prepare(): PreparedBuilder })._prepare();

const dialect = new SQLiteAsyncDialect();

/** Runs statements as one round trip and returns each one's typed result, in order. */
async function runStatements(db: Db, statements: readonly Statement[]): Promise<unknown[]> {
	const isRaw = (statement: Statement): statement is RawQuery<unknown> => "kind" in statement;
	const prepared = statements.map((statement) => (isRaw(statement) ? null : prepareBuilder(statement)));
	const bound = statements.map((statement, i) => {
		const query = isRaw(statement)
			? dialect.sqlToQuery(statement.sql)
			: (prepared[i] as PreparedBuilder).getQuery();
		return db.$client.prepare(query.sql).bind(...query.params);
	});
	const results = await db.$client.batch(bound);
	return statements.map((statement, i) => {
		const result = results[i] as D1Result;
		return isRaw(statement) ? result.results : (prepared[i] as PreparedBuilder).mapResult(result, true);
	});
}

/**
 * Runs statements as one D1 batch — one transaction, one round trip, the caller guard at its head — and
 * returns their typed results. Give it a record of named parts (statements and statement groups) and get
 * the same names back: `batch(db, { cancelled, allocation: allocate(…), title })`.
 *
 * drizzle's own `db.batch` does this for builders, but cannot bind the parameters of raw `sql`
 * (drizzle-orm#2277, fixed in drizzle 1.0). The atomic rules here need raw conditional statements.
 */
export async function batch<const P extends Record<string, BatchPart>>(
	db: Db,
	parts: P,
): Promise<{ [K in keyof P]: PartResult<P[K]> }> {
	const group = namedGroup(parts);
	return group.read(await runStatements(db, group.statements));
}

/** A group whose result is `read`'s reading of another group's (a policy's outcome from its named statements). */
export function mapGroup<T, U>(group: StatementGroup<T>, read: (result: T) => U): StatementGroup<U> {
	return { kind: "group", statements: group.statements, read: (results) => read(group.read(results)) };
}

/** Named parts as one group whose result has the same names (what `batch` runs; groups nest). */
export function namedGroup<const P extends Record<string, BatchPart>>(
	parts: P,
): StatementGroup<{ [K in keyof P]: PartResult<P[K]> }> {
	const entries = Object.entries(parts);
	return {
		kind: "group",
		statements: entries.flatMap(([, part]) => (isGroup(part) ? part.statements : [part])),
		read: (results) => {
			let at = 0;
			const named: Record<string, unknown> = {};
			for (const [name, part] of entries) {
				const size = isGroup(part) ? part.statements.length : 1;
				named[name] = isGroup(part) ? part.read(results.slice(at, at + size)) : results[at];
				at += size;
			}
			return named as { [K in keyof P]: PartResult<P[K]> };
		},
	};
}
