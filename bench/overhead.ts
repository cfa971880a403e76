/**
 * `npm run bench:overhead`: the app's per-request overhead against a floor, under load, on this machine.
 *
 * `wrangler dev` runs bench/floor-worker.ts: the production Worker and, in the same isolate, a bare Hono
 * app whose one route does one D1 statement (`GET /floor/books/{id}`). `CONCURRENCY` closed loops on
 * keep-alive connections drive one target at a time for `SLICE_MS`. A round alternates the floor with each
 * target — floor, target 1, floor, target 2, …, floor — in an order rotated every round, and a target's
 * ratio is its rate over the mean of the two floor slices around it: measured side by side, so a burst of
 * other work on the machine weighs on both. Prints per target the medians over the rounds of its requests
 * per second, its median latency and its ratio to the floor (with the middle half of the ratios), its D1
 * round trips (Server-Timing; checked) and the issue's goal.
 *
 * Targets (bench/load.ts): `GET /health`; `GET /books/{id}` and `GET /books` from the edge cache (0 round
 * trips) and from D1 (a signed-in reader's read, which the cache never answers: 1 round trip); the admin
 * `PATCH /books/{id}/stock`.
 *
 * Its own state under .wrangler/bench-overhead, removed when done (or interrupted). `--rounds=N` (default 15).
 */
import {
	CONCURRENCY,
	closeConnections,
	drive,
	ENTRY,
	FLOOR,
	median,
	recordRestockBatches,
	type Slice,
	STATE,
	seedOverheadState,
	TARGETS,
	type Target,
	workerdCpu,
} from "./load.ts";
import { BENCH_ADMIN, cleanUp, login, startDevServer } from "./local-server.ts";

const SLICE_MS = 500;
const WARMUP_MS = 1_000;
const ROUNDS = Number(/^--rounds=(\d+)$/.exec(process.argv[2] ?? "")?.[1] ?? 15);
/**
 * A cached read misses right after the PATCH slice purged it and when its 30 s TTL lapses: a few requests of a
 * slice on a slow machine.
 */
const MIN_SHARE_AT_BUDGET = 0.9;
const MEASURED = TARGETS.filter((target) => target !== FLOOR);

const quantile = (values: readonly number[], q: number) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};

console.log("Seeding…");
await seedOverheadState();
try {
	const server = await startDevServer(STATE, ENTRY);
	const base = new URL(server.base);
	const token = await login(server.base, BENCH_ADMIN);
	await recordRestockBatches(server.base, token);
	const cpu = workerdCpu(server.pid);
	for (const target of TARGETS) await drive(base, target, token, WARMUP_MS);

	const slices = new Map<Target, Slice[]>(TARGETS.map((target) => [target, []]));
	const ratios = new Map<Target, number[]>(TARGETS.map((target) => [target, []]));
	const cpuRatios = new Map<Target, number[]>(TARGETS.map((target) => [target, []]));
	console.log(
		`${ROUNDS} rounds, each the floor alternating with ${MEASURED.length} targets, ${SLICE_MS} ms slices, ${CONCURRENCY} connections…`,
	);
	for (let round = 0; round < ROUNDS; round++) {
		const order = MEASURED.map((_, i) => MEASURED[(i + round) % MEASURED.length] as Target);
		let floorBefore = await drive(base, FLOOR, token, SLICE_MS, cpu);
		slices.get(FLOOR)?.push(floorBefore);
		for (const target of order) {
			const slice = await drive(base, target, token, SLICE_MS, cpu);
			const floorAfter = await drive(base, FLOOR, token, SLICE_MS, cpu);
			slices.get(target)?.push(slice);
			slices.get(FLOOR)?.push(floorAfter);
			ratios.get(target)?.push(slice.rps / ((floorBefore.rps + floorAfter.rps) / 2));
			cpuRatios.get(target)?.push((floorBefore.cpuUs + floorAfter.cpuUs) / 2 / slice.cpuUs);
			floorBefore = floorAfter;
		}
	}

	const problems: string[] = [];
	console.log(
		`\n${"target".padEnd(34)} ${"req/s".padStart(6)} ${"p50".padStart(8)}  d1 trips ${"× floor".padStart(8)}  ${"(middle half)".padStart(13)}  ${"CPU/req".padStart(9)} ${"× floor".padStart(8)}  goal`,
	);
	for (const target of TARGETS) {
		const runs = slices.get(target) as Slice[];
		problems.push(...new Set(runs.flatMap((slice) => slice.failures)));
		let trips = "";
		if (target.roundTrips !== undefined) {
			const counts = new Map<number, number>();
			for (const slice of runs)
				for (const [n, count] of slice.roundTrips) counts.set(n, (counts.get(n) ?? 0) + count);
			const total = [...counts.values()].reduce((a, b) => a + b, 0);
			const share = (counts.get(target.roundTrips) ?? 0) / total;
			trips = share === 1 ? String(target.roundTrips) : `${target.roundTrips} (${(share * 100).toFixed(1)}%)`;
			if (share < MIN_SHARE_AT_BUDGET)
				problems.push(`${target.name}: ${[...counts].map(([n, c]) => `${c}× ${n} round trips`).join(", ")}`);
		}
		const targetRatios = ratios.get(target) as number[];
		const ratio = target === FLOOR ? 1 : median(targetRatios);
		const spread =
			target === FLOOR
				? ""
				: `(${quantile(targetRatios, 0.25).toFixed(2)}–${quantile(targetRatios, 0.75).toFixed(2)})`;
		console.log(
			[
				target.name.padEnd(34),
				median(runs.map((slice) => slice.rps))
					.toFixed(0)
					.padStart(6),
				`${median(runs.map((slice) => slice.p50)).toFixed(1)} ms`.padStart(8),
				trips.padStart(10),
				`${ratio.toFixed(2)}×`.padStart(8),
				spread.padStart(14),
				`${median(runs.map((slice) => slice.cpuUs)).toFixed(0)} µs`.padStart(10),
				`${(target === FLOOR ? 1 : median(cpuRatios.get(target) as number[])).toFixed(2)}×`.padStart(8),
				target.goal === undefined
					? ""
					: ` ≥ ${target.goal.toFixed(1)}×: ${ratio >= target.goal ? "met" : "NOT MET"}`,
			].join(" "),
		);
	}
	if (problems.length > 0) throw new Error(problems.join("\n"));
} finally {
	closeConnections();
	await cleanUp();
}
