/**
 * The Worker `npm run bench:million` (bench/million.ts) runs under `wrangler dev`; never deployed. It is the
 * production Worker (src/index.ts) unchanged — fetch, queue and scheduled handlers, the real D1 and the
 * real `prebook-publication` queue with its consumer — with one thing in place of the outside world: the
 * `prebook-notifications` producer tallies the user ids each notice or round puts on the queue (a bit per
 * user, so a million are counted in 128 KB and a repeat is seen) instead of handing them to the email
 * consumer, which would email a million readers. `GET /__bench/published` answers the tallies.
 *
 * For scale, `POST /__bench/rule5-floor/{bookId}`: the least a notice of the book's line must write, as a
 * bare batch on the plain binding — a restock record and one `UPDATE` marking every waiting reader
 * `notified` with its `notified_at` and restock (API.md rule 5), nothing else — timed in the Worker.
 */
import worker from "../src/index.ts";
import { talliesResponse, tallyingQueue } from "./tallying-queue.ts";

const wrapped = new WeakMap<Env, Env>();
function benchEnv(env: Env): Env {
	let benched = wrapped.get(env);
	if (!benched) {
		benched = { ...env, PREBOOK_QUEUE: tallyingQueue };
		wrapped.set(env, benched);
	}
	return benched;
}

/** Rule 5's statements alone, bare: what the app's notice cannot go below on this D1. */
async function ruleFiveFloor(env: Env, bookId: number): Promise<Response> {
	const now = new Date().toISOString();
	const started = performance.now();
	const [, notified] = await env.DB.batch([
		env.DB.prepare(
			`INSERT INTO restocks (book_id, admin_id, quantity_before, quantity_after, reason, created_at)
			 VALUES (?, NULL, 0, 5, 'restock', ?)`,
		).bind(bookId, now),
		env.DB.prepare(
			`UPDATE pre_bookings SET status = 'notified', notified_at = ?1,
				restock_id = (SELECT max(id) FROM restocks WHERE book_id = ?2)
			 WHERE status = 'waiting' AND book_id = ?2 AND NOT coalesce(paused_until > ?1, 0)`,
		).bind(now, bookId),
	]);
	return Response.json({ ms: performance.now() - started, notified: notified?.meta.changes ?? 0 });
}

export default {
	async fetch(request, env, ctx) {
		const { pathname } = new URL(request.url);
		if (pathname === "/__bench/published") return talliesResponse();
		const floor = /^\/__bench\/rule5-floor\/(\d+)$/.exec(pathname);
		if (floor && request.method === "POST") return ruleFiveFloor(env, Number(floor[1]));
		return worker.fetch(request, benchEnv(env), ctx);
	},
	queue: (batch, env) => worker.queue(batch, benchEnv(env)),
	scheduled: (controller, env, ctx) => worker.scheduled(controller, benchEnv(env), ctx),
} satisfies ExportedHandler<Env>;
