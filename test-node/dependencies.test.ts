/**
 * The dependency rules of src/ (docs/architecture.md): no import circles, and nothing imports upward —
 * `db/` and `i18n/` (the texts) are the bottom, `lib/` uses only those and itself, the pipelines
 * (`prebook-emails/`) use only those,
 * and only `app.ts`/`index.ts` see everything.
 *
 * Read with a scan of the import statements rather than dependency-cruiser: its TypeScript support skips
 * the 7.0 compiler this project type-checks with, and every import in src/ is a static ES import of a
 * relative `.ts` path, which the scan below reads exactly (a test proves it finds a circle).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "src");

function sourceFiles(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) return sourceFiles(path);
		return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
	});
}

/** `import … from "./x.ts"`, `export … from`, `import "./x.ts"`, `import("./x.ts")`: relative specifiers. */
const IMPORT = /(?:^|[\s;])(?:import|export)\b[^"';]*?(?:from\s*)?\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

/** The graph of src/: each file (relative to src/) and the src/ files it imports. */
function importGraph(files: { path: string; text: string }[]): Map<string, string[]> {
	return new Map(
		files.map(({ path, text }) => [
			path,
			[...text.matchAll(IMPORT)].map((match) => normalize(join(dirname(path), match[1] as string))),
		]),
	);
}

/** Every circle of the graph, each as the files along it (a depth-first search's back edges). */
function circles(graph: Map<string, string[]>): string[][] {
	const found: string[][] = [];
	const state = new Map<string, "open" | "done">();
	const stack: string[] = [];
	const visit = (file: string) => {
		state.set(file, "open");
		stack.push(file);
		for (const next of graph.get(file) ?? []) {
			if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
			else if (!state.has(next)) visit(next);
		}
		stack.pop();
		state.set(file, "done");
	};
	for (const file of graph.keys()) if (!state.has(file)) visit(file);
	return found;
}

/**
 * What each layer may import, by path prefix under src/ (a file may always import its own folder). lib/
 * holds what the app is made of, its request environment (`lib/app-env.ts`) included: it sees no app-level
 * file.
 */
const LAYERS: { layer: string; mayImport: string[] }[] = [
	{ layer: "db/", mayImport: ["db/"] },
	{ layer: "i18n/", mayImport: ["i18n/"] },
	{ layer: "lib/", mayImport: ["db/", "i18n/", "lib/"] },
	{ layer: "prebook-emails/", mayImport: ["db/", "i18n/", "lib/", "prebook-emails/"] },
];

/**
 * Features that build on another may not be imported by it: auth reads, makes and completes users, so the
 * users feature stands below auth (what both need — the login-failure ledger — is in lib/).
 */
const BELOW: { feature: string; never: string }[] = [{ feature: "features/users/", never: "features/auth/" }];

function upwardImports(graph: Map<string, string[]>): string[] {
	return [...graph].flatMap(([file, imports]) => {
		const rule = LAYERS.find(({ layer }) => file.startsWith(layer));
		const below = BELOW.filter(({ feature }) => file.startsWith(feature));
		return imports
			.filter(
				(target) =>
					(rule && !rule.mayImport.some((allowed) => target.startsWith(allowed))) ||
					below.some(({ never }) => target.startsWith(never)),
			)
			.map((target) => `${file} → ${target}`);
	});
}

const graph = importGraph(
	sourceFiles(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, "utf8") })),
);

describe("src/ dependency rules", () => {
	it("reads the imports (the scan sees the app's routers and the engine)", () => {
		expect(graph.get("app.ts")).toContain("features/prebooks/index.ts");
		expect(graph.get("features/allocation/engine.ts")).toEqual(
			expect.arrayContaining(["lib/batch.ts", "features/allocation/policies.ts"]),
		);
	});

	it("has no import circles", () => {
		expect(circles(graph)).toEqual([]);
	});

	it("finds a circle when there is one", () => {
		const looped = importGraph([
			{ path: "lib/a.ts", text: 'import { b } from "./b.ts";' },
			{ path: "lib/b.ts", text: 'import type { a } from "./a.ts";\nexport { c } from "../c.ts";' },
			{ path: "c.ts", text: "" },
		]);
		expect(circles(looped)).toEqual([["lib/a.ts", "lib/b.ts", "lib/a.ts"]]);
		expect(upwardImports(looped)).toEqual(["lib/b.ts → c.ts"]);
		const upward = importGraph([
			{ path: "features/users/users.service.ts", text: 'import { x } from "../auth/x.ts";' },
			{ path: "lib/pages.ts", text: 'import type { AppEnv } from "../types.ts";' },
		]);
		expect(upwardImports(upward)).toEqual([
			"features/users/users.service.ts → features/auth/x.ts",
			"lib/pages.ts → types.ts",
		]);
	});

	it("imports nothing upward: db/ and lib/ below the features, the pipelines between", () => {
		expect(upwardImports(graph)).toEqual([]);
	});
});
