/**
 * The Worker `npm run bench:hold` (bench/hold-queue.ts) runs under `wrangler dev`; never deployed. It is the
 * production Worker (src/index.ts) unchanged — same fetch, queue and scheduled handlers — with one addition
 * around it: the D1 binding the app gets adds up, per request and per cron run, the round trips and the
 * rows D1 itself reports (`meta.rows_read`, `meta.rows_written`). The app logs those rows only for a
 * notify_all restock (`restock_notified`); this reports them for everything else without a bench hook in
 * production code:
 *  - a response carries `X-Bench-D1: <round trips>;<rows read>;<rows written>` (what ran before it);
 *  - a cron run logs `bench_cron_run` with the same figures, and its handler returns only once the run's
 *    work (the app's `waitUntil`) is done, so `/cdn-cgi/handler/scheduled` answers when the run is over.
 * And the outside world is left out: the `prebook-notifications` producer counts the ids put on the queue
 * (bench/tallying-queue.ts, `GET /__bench/published`) instead of handing them to the email consumer.
 * Queue batches (the publication queue's steps) get the same environment. The meter of the work in progress is found through
 * AsyncLocalStorage, so one wrapped environment serves every request of the isolate (the app's
 * configuration stays parsed once per isolate).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import worker from "../src/index.ts";
import { talliesResponse, tallyingQueue } from "./tallying-queue.ts";

interface Meter {
	roundTrips: number;
	rowsRead: number;
	rowsWritten: number;
}

const meters = new AsyncLocalStorage<Meter>();
const newMeter = (): Meter => ({ roundTrips: 0, rowsRead: 0, rowsWritten: 0 });

/** Adds a batch's round trip and the rows D1 reports to the meter of the work in progress. */
async function meteredBatch<T>(pending: Promise<D1Result<T>[]>): Promise<D1Result<T>[]> {
	const results = await pending;
	const meter = meters.getStore();
	if (meter) {
		meter.roundTrips += 1;
		for (const result of results) {
			meter.rowsRead += result.meta?.rows_read ?? 0;
			meter.rowsWritten += result.meta?.rows_written ?? 0;
		}
	}
	return results;
}

/** Every statement of the app runs through `batch` (src/lib/db.ts), so that is where rows are counted. */
class MeteredD1 implements D1Database {
	constructor(private readonly inner: D1Database) {}

	prepare(query: string): D1PreparedStatement {
		return this.inner.prepare(query);
	}

	batch<T>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
		return meteredBatch(this.inner.batch<T>(statements));
	}

	exec(query: string): Promise<D1ExecResult> {
		return this.inner.exec(query);
	}

	/** Requests read and write through a session (src/lib/db.ts): metered the same way. */
	withSession(constraintOrBookmark?: D1SessionBookmark | D1SessionConstraint): D1DatabaseSession {
		const session = this.inner.withSession(constraintOrBookmark);
		return {
			prepare: (query) => session.prepare(query),
			batch: (statements) => meteredBatch(session.batch(statements)),
			getBookmark: () => session.getBookmark(),
		};
	}

	dump(): Promise<ArrayBuffer> {
		return this.inner.dump();
	}
}

const metered = new WeakMap<Env, Env>();
function meteredEnv(env: Env): Env {
	let wrapped = metered.get(env);
	if (!wrapped) {
		wrapped = { ...env, DB: new MeteredD1(env.DB), PREBOOK_QUEUE: tallyingQueue };
		metered.set(env, wrapped);
	}
	return wrapped;
}

const report = (meter: Meter) => `${meter.roundTrips};${meter.rowsRead};${meter.rowsWritten}`;

export default {
	async fetch(request, env, ctx) {
		if (new URL(request.url).pathname === "/__bench/published") return talliesResponse();
		const meter = newMeter();
		const answer = await meters.run(meter, () => worker.fetch(request, meteredEnv(env), ctx));
		const response = new Response(answer.body, answer);
		response.headers.set("X-Bench-D1", report(meter));
		return response;
	},

	queue: (batch, env) => worker.queue(batch, meteredEnv(env)),

	async scheduled(controller, env, ctx) {
		const meter = newMeter();
		const work: Promise<unknown>[] = [];
		// The run's own context, but what the app hands to waitUntil is awaited here.
		const runCtx = new Proxy(ctx, {
			get(target, property) {
				if (property === "waitUntil") return (promise: Promise<unknown>) => void work.push(promise);
				const value = Reflect.get(target, property);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		await meters.run(meter, async () => {
			await worker.scheduled(controller, meteredEnv(env), runCtx);
			await Promise.all(work);
		});
		console.log(
			JSON.stringify({
				event: "bench_cron_run",
				scheduled_time: new Date(controller.scheduledTime).toISOString(),
				d1_round_trips: meter.roundTrips,
				d1_rows_read: meter.rowsRead,
				d1_rows_written: meter.rowsWritten,
			}),
		);
	},
} satisfies ExportedHandler<Env>;
