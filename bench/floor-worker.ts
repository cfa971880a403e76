/**
 * The Worker `npm run bench:overhead` (bench/overhead.ts) runs under `wrangler dev`; never deployed. Two
 * apps in one isolate, on the same workerd, the same D1 database and the same local proxy in front:
 *  - `/floor/books/{id}`: the **floor**, a bare Hono app with one route doing one D1 statement (the book's
 *    row, as JSON) — what any Hono + D1 Worker pays per request, and nothing else; and, for scale, the same
 *    app's `/floor/books`: one statement reading a page of 50 books (what `GET /books` reads);
 *  - everything else: the production Worker (src/index.ts), unchanged.
 * The benchmark interleaves requests to both, so the ratio of their rates is the app's per-request overhead
 * measured under the same load on the same machine.
 *
 * Two more floors bound what the app can reach, whatever its own code does:
 *  - `/floor/session/books/{id}`: the floor's statement on a D1 session, as every request of the app reads
 *    (replication and `X-D1-Bookmark` need it; src/lib/db.ts);
 *  - `PATCH /floor/restock-batch`: the admin restock's own batch, sent bare. A restock sent with the header
 *    `X-Bench-Record-Batch` runs through the production Worker as any other, and its batch's statements
 *    (SQL and parameters) are kept; this route sends them again on the plain binding, the restocks with
 *    quantities 5 and 6 in turn, with a fresh batch time each (the batch clock claims each time once) —
 *    what D1 costs for the statements the restock needs, without the pipeline, drizzle or the catalog purge.
 */
import { Hono } from "hono";
import worker from "../src/index.ts";

const floor = new Hono<{ Bindings: Env }>()
	.get("/floor/books/:id", async (c) => {
		const row = await c.env.DB.prepare("SELECT * FROM books WHERE id = ?")
			.bind(Number(c.req.param("id")))
			.first();
		return row ? c.json(row) : c.notFound();
	})
	.get("/floor/session/books/:id", async (c) => {
		const session = c.env.DB.withSession("first-unconstrained");
		const row = await session
			.prepare("SELECT * FROM books WHERE id = ?")
			.bind(Number(c.req.param("id")))
			.first();
		if (!row) return c.notFound();
		c.header("X-D1-Bookmark", session.getBookmark() ?? "");
		return c.json(row);
	})
	.get("/floor/books", async (c) => {
		const { results } = await c.env.DB.prepare("SELECT * FROM books ORDER BY id LIMIT 51").all();
		return c.json({ items: results.slice(0, 50) });
	})
	// A stock write, bare: one UPDATE returning the row, as one statement or at the head of a batch of
	// `statements` (the rest trivial `SELECT`s): what a write transaction and each statement of a batch cost
	// local D1, whatever the statement does.
	.patch("/floor/books/:id/stock", async (c) => {
		const { quantity } = await c.req.json<{ quantity: number }>();
		const asked = c.req.query("statements");
		const statements = asked === "restock" ? (recordedRestockLength() ?? 1) : Number(asked ?? 1);
		const write = c.env.DB.prepare("UPDATE books SET stock_quantity = ? WHERE id = ? RETURNING *").bind(
			quantity,
			Number(c.req.param("id")),
		);
		const rest = Array.from({ length: statements - 1 }, () => c.env.DB.prepare("SELECT 1"));
		const [updated] = await c.env.DB.batch([write, ...rest]);
		const row = updated?.results[0];
		return row ? c.json(row) : c.notFound();
	});

/** A statement the recording binding saw prepared and bound. */
interface Recorded {
	query: string;
	params: unknown[];
}
/** The recorded restock batches, by the quantity they set. */
const restockBatches = new Map<number, Recorded[]>();

/**
 * `env` whose D1 binding (and its sessions) keeps the last batch sent under `quantity`: each prepared
 * statement is remembered with its SQL and, once bound, its parameters.
 */
function recordingEnv(env: Env, quantity: number): Env {
	const seen = new WeakMap<D1PreparedStatement, Recorded>();
	const prepare = (on: D1Database | D1DatabaseSession, query: string): D1PreparedStatement => {
		const statement = on.prepare(query);
		const bind = statement.bind.bind(statement);
		statement.bind = (...params: unknown[]) => {
			const bound = bind(...params);
			seen.set(bound, { query, params });
			return bound;
		};
		seen.set(statement, { query, params: [] });
		return statement;
	};
	const batch = <T>(on: D1Database | D1DatabaseSession, statements: D1PreparedStatement[]) => {
		restockBatches.set(
			quantity,
			statements.map((statement) => seen.get(statement) ?? { query: "(unknown)", params: [] }),
		);
		return on.batch<T>(statements);
	};
	const DB = Object.create(env.DB, {
		prepare: { value: (query: string) => prepare(env.DB, query) },
		batch: { value: <T>(statements: D1PreparedStatement[]) => batch<T>(env.DB, statements) },
		withSession: {
			value: (constraint?: string): D1DatabaseSession => {
				const session = env.DB.withSession(constraint);
				return {
					prepare: (query) => prepare(session, query),
					batch: (statements) => batch(session, statements),
					getBookmark: () => session.getBookmark(),
				};
			},
		},
	}) as D1Database;
	return { ...env, DB };
}

/** ISO 8601 with milliseconds: the batch's time among a recorded batch's parameters. */
const BATCH_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** Replayed batches' times: ahead of any the app stamps during the run, each used once. */
let replayClock = Date.now() + 3_600_000;
let replays = 0;

floor.patch("/floor/restock-batch", async (c) => {
	const recorded = restockBatches.get(5 + (replays++ % 2));
	if (!recorded) return c.text("no restock batch recorded (send one with X-Bench-Record-Batch)", 409);
	const now = new Date(replayClock++).toISOString();
	const results = await c.env.DB.batch(
		recorded.map(({ query, params }) =>
			c.env.DB.prepare(query).bind(
				...params.map((p) => (typeof p === "string" && BATCH_TIME.test(p) ? now : p)),
			),
		),
	);
	return c.json(results.at(-1)?.results[0] ?? null);
});

/** The recorded restock's statements: the floor's batch of trivial statements is as long. */
function recordedRestockLength(): number | undefined {
	return restockBatches.get(5)?.length;
}

export default {
	fetch(request, env, ctx) {
		if (request.url.includes("/floor/")) return floor.fetch(request, env, ctx);
		const record = request.headers.get("X-Bench-Record-Batch");
		return worker.fetch(request, record ? recordingEnv(env, Number(record)) : env, ctx);
	},
	queue: worker.queue,
	scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
