/**
 * `npm run bench:profile`: where the Worker's CPU goes per request, target by target (bench/load.ts).
 *
 * Runs the overhead benchmark's Worker unminified under `wrangler dev --inspector-port`, and for each target
 * records a CPU profile through the Chrome DevTools Protocol (`Profiler.start` / `Profiler.stop`) while the
 * target is driven for `PROFILE_MS`. Prints, per target, the isolate's CPU per request (samples that were not
 * idle) and the functions with the most self and total time, by the source file they come from. Its own
 * state under .wrangler/bench-overhead, removed when done. `--only=<substring of a target's name>`,
 * `--top=N` (default 25), `--save=<dir>` (writes each profile as a .cpuprofile for DevTools).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { devtools, freePort } from "./inspector.ts";
import { drive, ENTRY, recordRestockBatches, STATE, seedOverheadState, TARGETS } from "./load.ts";
import { BENCH_ADMIN, cleanUp, login, startDevServer } from "./local-server.ts";

const PROFILE_MS = 4_000;
const arg = (name: string) =>
	process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? undefined;
const only = arg("only");
const top = Number(arg("top") ?? 25);
const saveTo = arg("save");

interface CallFrame {
	functionName: string;
	scriptId: string;
	url: string;
	lineNumber: number;
	columnNumber: number;
}
interface ProfileNode {
	id: number;
	callFrame: CallFrame;
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
	startTime: number;
	endTime: number;
}

/**
 * Per script, the module each line of the bundle comes from: wrangler's unminified esbuild bundle starts
 * every module with a `// <path>` comment.
 */
const modulesOf = new Map<string, { line: number; module: string }[]>();
function moduleMap(source: string): { line: number; module: string }[] {
	const starts: { line: number; module: string }[] = [];
	source.split("\n").forEach((text, line) => {
		const path = /^\/\/ ((?:\.\.\/)*[\w@.+-]+(?:\/[\w@.+-]+)+\.[cm]?[jt]s)$/.exec(text)?.[1];
		if (path) starts.push({ line, module: path.replace(/^(\.\.\/)+/, "") });
	});
	return starts;
}

/** Where a frame comes from: the app's own file, a package, or the runtime. */
function origin(frame: CallFrame): string {
	if (!frame.url) return "(runtime)";
	const starts = modulesOf.get(frame.scriptId) ?? [];
	let module = frame.url.replace(/^.*\//, "");
	for (const start of starts) {
		if (start.line > frame.lineNumber) break;
		module = start.module;
	}
	const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(module);
	return pkg ? `${pkg[1]}/${pkg[2]?.replace(/^(dist|lib)\//, "")}` : module;
}

const label = (frame: CallFrame) =>
	`${frame.functionName || "(anonymous)"} ${origin(frame)}:${frame.lineNumber + 1}`;

function summarize(profile: Profile, requests: number) {
	const byId = new Map(profile.nodes.map((node) => [node.id, node]));
	const parent = new Map<number, number>();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	const self = new Map<string, number>();
	const total = new Map<string, number>();
	const byOrigin = new Map<string, number>();
	let busy = 0;
	profile.samples.forEach((nodeId, i) => {
		const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // the interval after this sample, µs → ms
		const node = byId.get(nodeId) as ProfileNode;
		const name = node.callFrame.functionName;
		if (name === "(idle)" || name === "(program)" || name === "(garbage collector)") {
			if (name !== "(idle)") {
				busy += dt;
				self.set(name, (self.get(name) ?? 0) + dt);
				byOrigin.set(name, (byOrigin.get(name) ?? 0) + dt);
			}
			return;
		}
		busy += dt;
		self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + dt);
		byOrigin.set(origin(node.callFrame), (byOrigin.get(origin(node.callFrame)) ?? 0) + dt);
		const seen = new Set<string>();
		for (let at: number | undefined = nodeId; at !== undefined; at = parent.get(at)) {
			const key = label((byId.get(at) as ProfileNode).callFrame);
			if (seen.has(key)) continue;
			seen.add(key);
			total.set(key, (total.get(key) ?? 0) + dt);
		}
	});
	const perRequest = (ms: number) => `${((ms / requests) * 1000).toFixed(0).padStart(5)} µs`;
	const rows = (map: Map<string, number>) =>
		[...map]
			.sort((a, b) => b[1] - a[1])
			.slice(0, top)
			.map(([key, ms]) => `  ${perRequest(ms)}  ${key}`)
			.join("\n");
	console.log(`  CPU busy: ${perRequest(busy)} per request (${requests} requests)`);
	console.log(`  by source (self time):\n${rows(byOrigin)}`);
	console.log(`  self time:\n${rows(self)}`);
	console.log(`  total time:\n${rows(total)}`);
}

console.log("Seeding…");
await seedOverheadState();
try {
	const inspectorPort = await freePort();
	const server = await startDevServer(STATE, ENTRY, [
		"--inspector-port",
		String(inspectorPort),
		"--minify=false",
	]);
	const base = new URL(server.base);
	const token = await login(server.base, BENCH_ADMIN);
	await recordRestockBatches(server.base, token);
	const inspector = await devtools(inspectorPort);
	// The bundle's module comments, to name each frame's source file.
	await inspector.send("Debugger.enable");
	for (const [scriptId, url] of inspector.scripts) {
		if (!url.endsWith(".js")) continue;
		const { scriptSource } = await inspector.send<{ scriptSource: string }>("Debugger.getScriptSource", {
			scriptId,
		});
		modulesOf.set(scriptId, moduleMap(scriptSource));
	}
	await inspector.send("Debugger.disable");
	await inspector.send("Profiler.enable");
	await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
	for (const target of TARGETS) {
		if (only && !target.name.includes(only)) continue;
		await drive(base, target, token, 1_000);
		await inspector.send("Profiler.start");
		const slice = await drive(base, target, token, PROFILE_MS);
		const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
		const requests = Math.round((slice.rps * PROFILE_MS) / 1000);
		console.log(`\n${target.name}: ${slice.rps.toFixed(0)} req/s`);
		summarize(profile, requests);
		if (saveTo) {
			mkdirSync(saveTo, { recursive: true });
			const file = `${saveTo}/${target.name.replace(/[^\w]+/g, "-")}.cpuprofile`;
			writeFileSync(file, JSON.stringify(profile));
		}
	}
	inspector.close();
} finally {
	await cleanUp();
}
