/**
 * What bench/overhead.ts and bench/profile.ts share: the local state they seed, the requests they send
 * (the floor and the app's routes), and a closed-loop load driver over keep-alive connections.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { seedBenchAdmin, seedFreshState } from "./local-server.ts";

export const STATE = ".wrangler/bench-overhead";
/** The Worker both run: the app and the floor in one isolate (bench/floor-worker.ts). */
export const ENTRY = "bench/floor-worker.ts";
const BOOKS = 200;
export const CONCURRENCY = 8;

export interface Target {
	name: string;
	method: "GET" | "PATCH";
	path: string;
	/** The body of the i-th request. */
	body?: (i: number) => string;
	/** Sends the admin's access token. */
	token?: boolean;
	/** The D1 round trips every request makes (Server-Timing); the floor reports none. */
	roundTrips?: number;
	/** The goal for its ratio to the floor. */
	goal?: number;
}

const BOOK = 17;
const RESTOCKED = 42;
const FLOOR_RESTOCKED = 43;
export const FLOOR: Target = {
	name: "floor: bare Hono, 1 D1 statement",
	method: "GET",
	path: `/floor/books/${BOOK}`,
};
export const TARGETS: Target[] = [
	FLOOR,
	// For scale, not a goal: the same bare app reading what `GET /books` reads, a page of 50 books.
	{ name: "floor's page of 50 books", method: "GET", path: "/floor/books" },
	{ name: "GET /health", method: "GET", path: "/health", roundTrips: 1 },
	{ name: "GET /books/{id}, cached", method: "GET", path: `/books/${BOOK}`, roundTrips: 0, goal: 1.0 },
	{ name: "GET /books, cached", method: "GET", path: "/books", roundTrips: 0, goal: 1.0 },
	// A signed-in reader's catalog read is never answered from (nor stored in) the edge cache.
	{
		name: "GET /books/{id}, from D1",
		method: "GET",
		path: `/books/${BOOK}`,
		token: true,
		roundTrips: 1,
		goal: 0.9,
	},
	{ name: "GET /books, from D1", method: "GET", path: "/books", token: true, roundTrips: 1, goal: 0.9 },
	// For scale, not a goal: the floor's statement on a D1 session, as the app reads (bench/floor-worker.ts).
	{ name: "floor's read on a D1 session", method: "GET", path: `/floor/session/books/${BOOK}` },
	// For scale, not goals: the bare app's stock write, alone and at the head of a batch as long as the
	// restock's (its other statements trivial), on another book; and the restock's own batch sent bare
	// (recorded from the app by `recordRestockBatches`).
	{
		name: "floor's stock write, 1 statement",
		method: "PATCH",
		path: `/floor/books/${FLOOR_RESTOCKED}/stock`,
		body: (i) => JSON.stringify({ quantity: 5 + (i % 2) }),
	},
	{
		name: "floor's stock write, restock's length",
		method: "PATCH",
		path: `/floor/books/${FLOOR_RESTOCKED}/stock?statements=restock`,
		body: (i) => JSON.stringify({ quantity: 5 + (i % 2) }),
	},
	{ name: "the restock's own batch, bare", method: "PATCH", path: "/floor/restock-batch" },
	{
		name: "PATCH /books/{id}/stock (admin)",
		method: "PATCH",
		path: `/books/${RESTOCKED}/stock`,
		// 5, 6, 5, 6…: a restock record every other request; nobody waits for this book.
		body: (i) => JSON.stringify({ quantity: 5 + (i % 2) }),
		token: true,
		roundTrips: 1,
		goal: 0.6,
	},
];

/**
 * Sends the admin restock (quantities 6, then 5: one that records a restock, one that does not) through
 * the production Worker with its batch recorded, for the floors that replay it (bench/floor-worker.ts).
 * A first restock, not recorded, lets the isolate learn the book's policy: the batches recorded are the
 * ones every later restock sends (only that policy's statements).
 */
export async function recordRestockBatches(base: string, token: string): Promise<void> {
	for (const [quantity, record] of [
		[5, false],
		[6, true],
		[5, true],
	] as const) {
		const res = await fetch(new URL(`/books/${RESTOCKED}/stock`, base), {
			method: "PATCH",
			headers: {
				Authorization: `Bearer ${token}`,
				"Content-Type": "application/json",
				...(record ? { "X-Bench-Record-Batch": String(quantity) } : {}),
			},
			body: JSON.stringify({ quantity }),
		});
		if (!res.ok) throw new Error(`recording the restock's batch: ${res.status} ${await res.text()}`);
	}
}

/** A fresh local D1 at `STATE` with the benchmark's admin and `BOOKS` books. */
export function seedOverheadState(): Promise<void> {
	return seedFreshState(STATE, async (db) => {
		await seedBenchAdmin(db);
		await db
			.prepare(
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				 INSERT INTO books (title, author, price_cents, stock_quantity, description)
				 SELECT 'Bench book ' || i, 'Author ' || (i % 37), 1000 + i, i % 5, 'A book of the overhead benchmark.'
				 FROM n`,
			)
			.bind(BOOKS)
			.run();
	});
}

export interface Slice {
	/** Requests answered per second. */
	rps: number;
	/** CPU time workerd spent per request, µs (every isolate: the app, D1, the cache, wrangler's proxy). */
	cpuUs: number;
	/** Median latency, ms. */
	p50: number;
	/** How many responses reported each D1 round-trip count. */
	roundTrips: Map<number, number>;
	failures: string[];
}

/** Keep-alive connections, reused from one slice to the next. */
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** Closes the connections (at the end of a run). */
export const closeConnections = () => agent.destroy();

/** The processes under `pid` (itself included), from /proc (Linux). */
function descendants(pid: number): number[] {
	const children = new Map<number, number[]>();
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			// "pid (comm) state ppid …": comm may hold spaces, so read after its closing parenthesis.
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
			children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
		} catch {
			// The process ended meanwhile.
		}
	}
	const all = [pid];
	for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i] as number) ?? []));
	return all;
}

/** A process's threads; none once it has ended (wrangler starts and ends more than one workerd). */
function threadsOf(pid: number): string[] {
	try {
		return readdirSync(`/proc/${pid}/task`);
	} catch {
		return [];
	}
}

/**
 * The workerd processes `wrangler dev` (process `wranglerPid`) runs, and a reader of the CPU time they have
 * used so far, in ns: the sum over their threads of /proc/<pid>/task/<tid>/schedstat's first field
 * (nanosecond resolution, where /proc/<pid>/stat counts 10 ms ticks). null where /proc is not Linux's.
 */
export function workerdCpu(wranglerPid: number): (() => number) | null {
	let pids: number[];
	try {
		pids = descendants(wranglerPid).filter(
			(pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd",
		);
	} catch {
		return null;
	}
	if (pids.length === 0) return null;
	return () => {
		let ns = 0;
		for (const pid of pids)
			for (const tid of threadsOf(pid)) {
				try {
					ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
				} catch {
					// The thread ended meanwhile: its time is lost to this reading, not the next.
				}
			}
		return ns;
	};
}

/**
 * Drives `target` with `CONCURRENCY` closed loops (each sends its next request when the last answered) for
 * `ms`; `cpu` reads workerd's CPU time (`workerdCpu`).
 */
export async function drive(
	base: URL,
	target: Target,
	token: string,
	ms: number,
	cpu: (() => number) | null = null,
): Promise<Slice> {
	const latencies: number[] = [];
	const roundTrips = new Map<number, number>();
	const failures: string[] = [];
	let sent = 0;
	const one = (i: number) =>
		new Promise<void>((resolve, reject) => {
			const body = target.body?.(i);
			const started = performance.now();
			const req = request(
				{
					host: base.hostname,
					port: base.port,
					method: target.method,
					path: target.path,
					agent,
					headers: {
						...(target.token ? { Authorization: `Bearer ${token}` } : {}),
						...(body
							? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }
							: {}),
					},
				},
				(res) => {
					res.resume();
					res.on("end", () => {
						latencies.push(performance.now() - started);
						if (res.statusCode !== 200) failures.push(`${target.name}: ${res.statusCode}`);
						const trips = /d1;dur=[\d.]+;desc="(\d+)"/.exec(String(res.headers["server-timing"] ?? ""))?.[1];
						if (trips !== undefined) roundTrips.set(Number(trips), (roundTrips.get(Number(trips)) ?? 0) + 1);
						resolve();
					});
				},
			);
			req.on("error", reject);
			req.end(body);
		});
	const cpuBefore = cpu?.() ?? 0;
	const started = performance.now();
	const deadline = started + ms;
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async () => {
			while (performance.now() < deadline) await one(sent++);
		}),
	);
	const elapsed = performance.now() - started;
	const cpuNs = (cpu?.() ?? Number.NaN) - cpuBefore;
	latencies.sort((a, b) => a - b);
	return {
		rps: (latencies.length / elapsed) * 1000,
		cpuUs: cpuNs / 1000 / latencies.length,
		p50: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN,
		roundTrips,
		failures,
	};
}

export const median = (values: readonly number[]): number => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1
		? (sorted[mid] as number)
		: ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
