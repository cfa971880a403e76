/**
 * The Worker `npm run bench:overhead` (bench/overhead.ts) runs under `wrangler dev`; never deployed. Two
 * apps in one isolate, on the same workerd, the same D1 database and the same local proxy in front:
 *  - `/floor/books/{id}`: the **floor**, a bare Hono app with one route doing one D1 statement (the book's
 *    row, as JSON) — what any Hono + D1 Worker pays per request, and nothing else; and, for scale, the same
 *    app's `/floor/books`: one statement reading a page of 50 books (what `GET /books` reads);
 *  - everything else: the production Worker (src/index.ts), unchanged.
 * The benchmark interleaves requests to both, so the ratio of their rates is the app's per-request overhead
 * measured under the same load on the same machine.
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
	.get("/floor/books", async (c) => {
		const { results } = await c.env.DB.prepare("SELECT * FROM books ORDER BY id LIMIT 51").all();
		return c.json({ items: results.slice(0, 50) });
	})
	// A stock write, bare: one UPDATE returning the row, as one statement or at the head of a batch of
	// `statements` (the rest trivial `SELECT`s): what a write transaction and each statement of a batch cost
	// local D1, whatever the statement does.
	.patch("/floor/books/:id/stock", async (c) => {
		const { quantity } = await c.req.json<{ quantity: number }>();
		const statements = Number(c.req.query("statements") ?? 1);
		const write = c.env.DB.prepare("UPDATE books SET stock_quantity = ? WHERE id = ? RETURNING *").bind(
			quantity,
			Number(c.req.param("id")),
		);
		const rest = Array.from({ length: statements - 1 }, () => c.env.DB.prepare("SELECT 1"));
		const [updated] = await c.env.DB.batch([write, ...rest]);
		const row = updated?.results[0];
		return row ? c.json(row) : c.notFound();
	});

export default {
	fetch(request, env, ctx) {
		return request.url.includes("/floor/") ? floor.fetch(request, env, ctx) : worker.fetch(request, env, ctx);
	},
	queue: worker.queue,
	scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
