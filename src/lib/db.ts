/**
 * Per-request database access. The D1 binding is wrapped so every round trip is counted (a `batch()`
 * counts once) and timed; the app reports the figures in `Server-Timing: d1;dur=…;desc="<round trips>"`.
 */
import { getTableColumns, type SQL, type Table } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import * as schema from "../db/schema.ts";

export type Db = DrizzleD1Database<typeof schema> & { $client: D1Database };

export interface D1Usage {
	roundTrips: number;
	durationMs: number;
	rowsRead: number;
	rowsWritten: number;
}

export const newD1Usage = (): D1Usage => ({ roundTrips: 0, durationMs: 0, rowsRead: 0, rowsWritten: 0 });

function recordMeta(usage: D1Usage, result: unknown): void {
	const meta = (result as { meta?: Partial<D1Meta> } | null)?.meta;
	usage.rowsRead += meta?.rows_read ?? 0;
	usage.rowsWritten += meta?.rows_written ?? 0;
}

async function metered<T>(usage: D1Usage, call: () => Promise<T>): Promise<T> {
	const started = performance.now();
	usage.roundTrips += 1;
	try {
		return await call();
	} finally {
		usage.durationMs += performance.now() - started;
	}
}

class MeteredStatement implements D1PreparedStatement {
	constructor(
		readonly inner: D1PreparedStatement,
		private readonly usage: D1Usage,
	) {}

	bind(...values: unknown[]): D1PreparedStatement {
		return new MeteredStatement(this.inner.bind(...values), this.usage);
	}

	first<T>(colName?: string): Promise<T | null> {
		return metered(this.usage, () =>
			colName === undefined ? this.inner.first<T>() : this.inner.first<T>(colName),
		);
	}

	async run<T>(): Promise<D1Result<T>> {
		const result = await metered(this.usage, () => this.inner.run<T>());
		recordMeta(this.usage, result);
		return result;
	}

	async all<T>(): Promise<D1Result<T>> {
		const result = await metered(this.usage, () => this.inner.all<T>());
		recordMeta(this.usage, result);
		return result;
	}

	// biome-ignore lint/suspicious/noExplicitAny: mirrors D1PreparedStatement's overloaded raw()
	raw(options?: any): any {
		return metered(this.usage, () => this.inner.raw(options));
	}
}

class MeteredD1 implements D1Database {
	constructor(
		private readonly inner: D1Database,
		private readonly usage: D1Usage,
	) {}

	prepare(query: string): D1PreparedStatement {
		return new MeteredStatement(this.inner.prepare(query), this.usage);
	}

	async batch<T>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
		const unwrapped = statements.map((s) => (s instanceof MeteredStatement ? s.inner : s));
		const results = await metered(this.usage, () => this.inner.batch<T>(unwrapped));
		for (const result of results) recordMeta(this.usage, result);
		return results;
	}

	exec(query: string): Promise<D1ExecResult> {
		return metered(this.usage, () => this.inner.exec(query));
	}

	withSession(constraintOrBookmark?: D1SessionBookmark | D1SessionConstraint): D1DatabaseSession {
		return this.inner.withSession(constraintOrBookmark);
	}

	dump(): Promise<ArrayBuffer> {
		return this.inner.dump();
	}
}

/** A drizzle client over the metered binding; create one per request (or per queue batch). */
export function createDb(binding: D1Database, usage: D1Usage = newD1Usage()): Db {
	return drizzle(new MeteredD1(binding, usage), { schema });
}

const dialect = new SQLiteAsyncDialect();

/** A statement for `runBatch`: an `sql` template or any drizzle query builder. */
export type BatchStatement = SQL | { toSQL(): { sql: string; params: unknown[] } };

/**
 * Runs statements as one D1 batch (one transaction, one round trip) and returns each statement's rows
 * with their SQL column names. drizzle's own `db.batch` cannot take raw `sql` with parameters
 * (drizzle-orm#2277), and the atomic rules here (restock, checkout, token rotation) are conditional
 * statements best written as SQL.
 */
export async function runBatch(db: Db, statements: BatchStatement[]): Promise<Record<string, unknown>[][]> {
	const prepared = statements.map((statement) => {
		const query = "toSQL" in statement ? statement.toSQL() : dialect.sqlToQuery(statement);
		return db.$client.prepare(query.sql).bind(...query.params);
	});
	const results = await db.$client.batch<Record<string, unknown>>(prepared);
	return results.map((result) => result.results ?? []);
}

/** A row from `runBatch` (SQL column names, driver values) as drizzle's typed row of `table`. */
export function rowOf<T extends Table>(table: T, row: Record<string, unknown>): T["$inferSelect"] {
	return Object.fromEntries(
		Object.entries(getTableColumns(table)).map(([key, column]) => {
			const value = row[column.name];
			return [key, value === null || value === undefined ? null : column.mapFromDriverValue(value)];
		}),
	) as T["$inferSelect"];
}

export type ConstraintKind = "unique" | "foreign_key" | "check" | "not_null";

/**
 * Classifies a SQLite constraint failure. drizzle wraps D1's error in `DrizzleQueryError` (whose message
 * carries SQL and parameters), so walk the `cause` chain and read D1's own message, e.g.
 * `D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT`.
 */
export function constraintViolation(err: unknown): { kind: ConstraintKind; target: string } | null {
	let current: unknown = err;
	for (let depth = 0; current instanceof Error && depth < 5; depth++) {
		const match =
			/(UNIQUE|FOREIGN KEY|CHECK|NOT NULL) constraint failed(?::\s*([\w.,\s]+?))?(?::\s*SQLITE|$)/.exec(
				current.message,
			);
		if (match) {
			const kinds = {
				UNIQUE: "unique",
				"FOREIGN KEY": "foreign_key",
				CHECK: "check",
				"NOT NULL": "not_null",
			} as const;
			return { kind: kinds[match[1] as keyof typeof kinds], target: (match[2] ?? "").trim() };
		}
		current = current.cause;
	}
	return null;
}
