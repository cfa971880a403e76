/**
 * Database access: the D1 binding every request (and queue batch) uses. The typed, named batch that runs
 * on it is lib/batch.ts.
 *
 * The binding is wrapped so that
 *  - every round trip is counted and timed (a `batch()` counts once); the app reports the figures in
 *    `Server-Timing: d1;dur=…;desc="<round trips>"`;
 *  - an authenticated request's every round trip starts with the **caller guard**: a statement that aborts
 *    the transaction unless the caller still exists, is active, holds an unrevoked token and (on admin
 *    routes) is still an admin (`callerGuard` in db/schema.ts, migrations/0007_caller_guard.sql and 0023),
 *    or, heading a read-only request's batch of SELECTs, a SELECT the Worker refuses on (`READ_GUARD_SQL`),
 *    so the batch stays a read. It is added here, below drizzle, so no service can run a statement without
 *    it and the check costs no round trip of its own;
 *  - a SELECT in a batch keeps every column even when two share a name (see `keepEveryColumn`).
 *
 * A request's binding wraps a D1 **session** (read replication, `requestSession`): reads, signed in or not,
 * may be served by a nearby replica, everything else starts on the primary, and a client's bookmark makes
 * the session at least as fresh as what that client saw (read-your-writes). Writes always go to the primary.
 */
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { AppError, type ErrorCode, matchErrorChain } from "./errors.ts";

/**
 * A drizzle client without the relational schema: the code uses the query builders and `batch`, never
 * `db.query.*`, and handing drizzle the schema made it rebuild the relational config of every table on
 * each `createDb` — the largest single cost of a request in the CPU profile (docs/benchmarks.md).
 */
export type Db = DrizzleD1Database & { $client: D1Database };

export interface D1Usage {
	roundTrips: number;
	durationMs: number;
	rowsRead: number;
	rowsWritten: number;
}

export const newD1Usage = (): D1Usage => ({ roundTrips: 0, durationMs: 0, rowsRead: 0, rowsWritten: 0 });

/** Who the request acts as, from its access token; verified against `users` inside every round trip. */
export interface CallerGuard {
	userId: number;
	tokenVersion: number;
	/** `admin` on admin routes: a caller demoted meanwhile is refused (403) and its write does not commit. */
	role: "user" | "admin";
	/**
	 * A read-only request (`GET`/`HEAD`): its batches of `SELECT`s are checked by a `SELECT` (`READ_GUARD_SQL`)
	 * instead of the guard's `INSERT`, so they stay reads a replica may answer.
	 */
	readOnly?: boolean;
}

/** The guard of a batch that may write: the INSERT whose trigger aborts the transaction (db/schema.ts). */
const GUARD_SQL = "INSERT INTO caller_guard (user_id, token_version, role) VALUES (?, ?, ?)";

/**
 * The guard of a read-only request's batch of `SELECT`s: the trigger's checks (migrations/0023), in its
 * order, as one row whose `refusal` is null or the code the trigger would raise; the Worker refuses on it.
 * A `SELECT` leaves the batch a read, which D1 may serve from a replica: so a caller deactivated or demoted
 * a moment ago may still read for as long as that replica lags (docs/architecture.md, "The caller guard").
 */
const READ_GUARD_SQL = `SELECT CASE
	WHEN NOT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND erased_at IS NULL) THEN 'AUTH_INVALID_TOKEN'
	WHEN EXISTS (SELECT 1 FROM users WHERE id = ?1 AND is_active = 0) THEN 'AUTH_ACCOUNT_DEACTIVATED'
	WHEN EXISTS (SELECT 1 FROM users WHERE id = ?1 AND token_version <> ?2) THEN 'AUTH_INVALID_TOKEN'
	WHEN ?3 = 'admin' AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND role <> 'admin') THEN 'AUTH_FORBIDDEN'
END AS refusal`;

/** A statement that only reads: a plain `SELECT` (anything else — `WITH`, `INSERT`… — counts as a write). */
const isSelect = (query: string) => /^\s*select\b/i.test(query);
/** The trigger's refusals (`RAISE(ABORT, 'caller_guard:<code>')`, db/schema.ts `callerGuard`) and their answers. */
export const CALLER_GUARD_REFUSALS: Record<string, { code: ErrorCode; detail: string }> = {
	AUTH_INVALID_TOKEN: { code: "AUTH_INVALID_TOKEN", detail: "The access token is invalid or expired" },
	AUTH_ACCOUNT_DEACTIVATED: { code: "AUTH_ACCOUNT_DEACTIVATED", detail: "This account is deactivated" },
	AUTH_FORBIDDEN: { code: "AUTH_FORBIDDEN", detail: "This action needs an admin account" },
};

/** A guard refusal code as the contract's 401/403. */
function refusalError(code: string | undefined): AppError | null {
	const refusal = code ? CALLER_GUARD_REFUSALS[code] : undefined;
	return refusal ? new AppError(refusal.code, refusal.detail) : null;
}

/** The guard's refusal (`RAISE(ABORT, 'caller_guard:<code>')`) as the contract's 401/403. */
function guardRefusal(err: unknown): AppError | null {
	return refusalError(matchErrorChain(err, /caller_guard:([A-Z_]+)/)?.[1]);
}

/**
 * D1 turns a batch's rows into objects, so of two columns with one name (`wishlist_items.id` and
 * `books.id` in a join) only the last survives, and drizzle, which reads batch rows back by position,
 * would then shift every later field. Selected through a subquery, SQLite names the second `id:1`.
 */
function keepEveryColumn(query: string): string {
	return isSelect(query) ? `SELECT * FROM (${query})` : query;
}

function recordMeta(usage: D1Usage, result: D1Result | D1ExecResult | null): void {
	const meta = (result as { meta?: Partial<D1Meta> } | null)?.meta;
	usage.rowsRead += meta?.rows_read ?? 0;
	usage.rowsWritten += meta?.rows_written ?? 0;
}

/** What the request binding runs on: the database itself or one of its sessions (same prepare/batch). */
export type D1Target = D1Database | D1DatabaseSession;

/**
 * A D1 bookmark as D1 issues them: four fixed-width hex groups, e.g.
 * `00000000-00000011-00000000-00000000000000000000000000000000`. Fixed width is what makes bookmarks sort
 * oldest to newest as plain strings (D1's glossary: "lexicographically sortable"), which the edge cache
 * relies on (lib/http-cache.ts); a shorter `f-f` would sort after every real one. Anything else is
 * ignored (never sent to D1).
 */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;

/** Request and response header carrying a D1 bookmark (read-your-writes across replicas). */
export const BOOKMARK_HEADER = "X-D1-Bookmark";

/** The client's `X-D1-Bookmark` if it is one (lower-cased, so that bookmarks compare as strings), else null. */
export function validBookmark(header: string | null | undefined): D1SessionBookmark | null {
	const value = header?.trim();
	if (!value || !BOOKMARK.test(value)) return null;
	return value.toLowerCase();
}

/** `GET` and `HEAD` change nothing (API.md): they may be answered by a replica. */
export const isReadOnlyMethod = (method: string) => method === "GET" || method === "HEAD";

/**
 * The request's D1 session: built from the client's bookmark when it sent a valid one (its reads see at
 * least what that bookmark saw); otherwise a read (`GET`/`HEAD`, signed in or not) may start on any replica
 * (`first-unconstrained`) and every other request starts on the primary (`first-primary`). A signed-in
 * read's caller check is a `SELECT` that keeps its batch a read (`READ_GUARD_SQL`).
 */
export function requestSession(
	binding: D1Database,
	request: { method: string; bookmark?: string | null },
): D1DatabaseSession {
	const bookmark = validBookmark(request.bookmark);
	if (bookmark) return binding.withSession(bookmark);
	return binding.withSession(isReadOnlyMethod(request.method) ? "first-unconstrained" : "first-primary");
}

/** A statement of the request binding: its SQL and parameters, prepared on the real binding when it runs. */
class RequestStatement implements D1PreparedStatement {
	constructor(
		private readonly db: RequestD1,
		readonly query: string,
		readonly params: unknown[] = [],
	) {}

	bind(...values: unknown[]): D1PreparedStatement {
		return new RequestStatement(this.db, this.query, values);
	}

	private async one<T>(): Promise<D1Result<T>> {
		const [result] = await this.db.batch<T>([this]);
		if (!result) throw new Error("D1 returned no result for a statement");
		return result;
	}

	async first<T>(colName?: string): Promise<T | null> {
		const row = (await this.one<Record<string, unknown>>()).results[0];
		if (row === undefined) return null;
		return (colName === undefined ? row : (row[colName] ?? null)) as T;
	}

	run<T>(): Promise<D1Result<T>> {
		return this.one<T>();
	}

	all<T>(): Promise<D1Result<T>> {
		return this.one<T>();
	}

	// biome-ignore lint/suspicious/noExplicitAny: mirrors D1PreparedStatement's overloaded raw()
	async raw(options?: { columnNames?: boolean }): Promise<any> {
		const rows = (await this.one<Record<string, unknown>>()).results;
		const values = rows.map((row) => Object.values(row));
		return options?.columnNames ? [Object.keys(rows[0] ?? {}), ...values] : values;
	}
}

/**
 * The binding a request or a queue batch uses. Every statement runs as (part of) a batch, so the guard —
 * when there is a caller — heads each round trip; without a caller the batch is the statements alone.
 */
class RequestD1 implements D1Database {
	constructor(
		private readonly inner: D1Target,
		private readonly usage: D1Usage,
		private readonly guard?: CallerGuard,
	) {}

	prepare(query: string): D1PreparedStatement {
		return new RequestStatement(this, query);
	}

	async batch<T>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
		const prepared = statements.map((statement) => {
			if (!(statement instanceof RequestStatement)) return statement;
			return this.inner.prepare(keepEveryColumn(statement.query)).bind(...statement.params);
		});
		// A read-only request's batch of SELECTs is checked by a SELECT (it stays a read); any other batch by
		// the INSERT whose trigger aborts it, so a refused caller's write never commits.
		const readGuard =
			this.guard?.readOnly === true &&
			statements.every((statement) => statement instanceof RequestStatement && isSelect(statement.query));
		if (this.guard) {
			const { userId, tokenVersion, role } = this.guard;
			prepared.unshift(
				this.inner.prepare(readGuard ? READ_GUARD_SQL : GUARD_SQL).bind(userId, tokenVersion, role),
			);
		}
		const started = performance.now();
		this.usage.roundTrips += 1;
		try {
			const results = await this.inner.batch<T>(prepared);
			for (const result of results) recordMeta(this.usage, result);
			if (readGuard) {
				const refused = refusalError((results[0]?.results[0] as { refusal?: string } | undefined)?.refusal);
				if (refused) throw refused;
			}
			return this.guard ? results.slice(1) : results;
		} catch (err) {
			throw guardRefusal(err) ?? err;
		} finally {
			this.usage.durationMs += performance.now() - started;
		}
	}

	async exec(query: string): Promise<D1ExecResult> {
		// Multi-statement scripts are for migrations and tests, never a request: they cannot carry the guard.
		if (this.guard) throw new Error("exec() is not available to authenticated requests");
		this.usage.roundTrips += 1;
		return this.database("exec()").exec(query);
	}

	withSession(constraintOrBookmark?: D1SessionBookmark | D1SessionConstraint): D1DatabaseSession {
		return this.database("withSession()").withSession(constraintOrBookmark);
	}

	dump(): Promise<ArrayBuffer> {
		return this.database("dump()").dump();
	}

	/** The database itself, for what a session cannot do (exec, nested sessions, dump). */
	private database(what: string): D1Database {
		if (!("exec" in this.inner)) throw new Error(`${what} is not available on a D1 session`);
		return this.inner;
	}
}

/**
 * A drizzle client over the request binding; create one per request (or queue batch), over the request's
 * D1 session (`requestSession`) or, for background work, the database itself. With `guard`, every round
 * trip it makes first checks that the caller may still act (see the file comment).
 */
export function createDb(binding: D1Target, usage: D1Usage = newD1Usage(), guard?: CallerGuard): Db {
	return drizzle(new RequestD1(binding, usage, guard));
}
