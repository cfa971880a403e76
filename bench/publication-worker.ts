/**
 * The Worker `npm run bench:million` (bench/million.ts) runs under `wrangler dev`; never deployed. It is the
 * production Worker (src/index.ts) unchanged — fetch, queue and scheduled handlers, the real D1 and the
 * real `prebook-publication` queue with its consumer — with one thing in place of the outside world: the
 * `prebook-notifications` producer tallies the user ids each notice or round puts on the queue (a bit per
 * user, so a million are counted in 128 KB and a repeat is seen) instead of handing them to the email
 * consumer, which would email a million readers. `GET /__bench/published` answers the tallies.
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

export default {
	async fetch(request, env, ctx) {
		if (new URL(request.url).pathname === "/__bench/published") return talliesResponse();
		return worker.fetch(request, benchEnv(env), ctx);
	},
	queue: (batch, env) => worker.queue(batch, benchEnv(env)),
	scheduled: (controller, env, ctx) => worker.scheduled(controller, benchEnv(env), ctx),
} satisfies ExportedHandler<Env>;
