/**
 * The typed client as an integrator gets it: `npm pack` of this repository, installed with the newest hono
 * from the registry into a project of its own (a copy of examples/client), compiled with `tsc` checking
 * every declaration file. Needs the npm registry (CI has it); everything is written to a temporary
 * directory that is removed afterwards.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { foreignImports } from "../scripts/build-client.ts";

const ROOT = join(import.meta.dirname, "..");
const TSC = join(ROOT, "node_modules", ".bin", "tsc");

const run = (command: string, args: string[], cwd: string) =>
	execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** `tsc -p project`: its exit status and what it printed. */
function compile(project: string): { ok: boolean; output: string } {
	try {
		return { ok: true, output: run(TSC, ["-p", project], project) };
	} catch (err) {
		const { stdout, stderr } = err as { stdout?: string; stderr?: string };
		return { ok: false, output: `${stdout ?? ""}${stderr ?? ""}` };
	}
}

describe("the typed client, packed and installed outside the repository with the newest hono", () => {
	const dir = mkdtempSync(join(tmpdir(), "client-package-"));
	const project = join(dir, "project");
	let packed: { filename: string; files: { path: string }[] };
	let newestHono: string;

	beforeAll(() => {
		// `npm pack` runs `prepack`: the declarations are built from the current source. What the scripts
		// print comes first; the JSON report is the last thing printed.
		const report = run("npm", ["pack", "--json", "--pack-destination", dir], ROOT);
		[packed] = JSON.parse(report.slice(report.search(/^\[$/m))) as [typeof packed];
		newestHono = run("npm", ["view", "hono", "version"], ROOT).trim();
		cpSync(join(ROOT, "examples", "client"), project, { recursive: true });
		run(
			"npm",
			[
				"install",
				"--no-save",
				"--omit=dev",
				"--no-audit",
				"--no-fund",
				join(dir, packed.filename),
				`hono@${newestHono}`,
			],
			project,
		);
	}, 180_000);
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	it("ships only the client's declarations, which import nothing but hono", () => {
		expect(packed.files.map(({ path }) => path).sort()).toEqual([
			"LICENSE",
			"README.md",
			"dist-types/client.d.ts",
			"package.json",
		]);
		const declarations = readFileSync(
			join(project, "node_modules/bookstore-edge-api/dist-types/client.d.ts"),
			"utf8",
		);
		expect(foreignImports(declarations)).toEqual([]);
		expect(foreignImports('import type { AppEnv } from "../types.ts";\nimport("zod").ZodType')).toEqual([
			"../types.ts",
			"zod",
		]);
	});

	it("shares the project's one hono, the newest release (a peer dependency, never a second copy)", () => {
		const installed = JSON.parse(readFileSync(join(project, "node_modules/hono/package.json"), "utf8")) as {
			version: string;
		};
		expect(installed.version).toBe(newestHono);
		expect(existsSync(join(project, "node_modules/bookstore-edge-api/node_modules"))).toBe(false);
		const manifest = JSON.parse(
			readFileSync(join(project, "node_modules/bookstore-edge-api/package.json"), "utf8"),
		) as { dependencies?: object; peerDependencies?: Record<string, string> };
		expect(manifest.dependencies).toBeUndefined();
		expect(manifest.peerDependencies).toEqual({ hono: expect.stringMatching(/^\^4\./) });
	});

	it("compiles the examples (prebook.ts, sign-up.ts) with every declaration file checked", () => {
		expect(readdirSync(project).filter((file) => file.endsWith(".ts"))).toEqual(["prebook.ts", "sign-up.ts"]);
		const { ok, output } = compile(project);
		expect(output).toBe("");
		expect(ok).toBe(true);
	});

	it("refuses what the API refuses: a wrong body, an unknown route, a code the status does not answer", () => {
		writeFileSync(
			join(project, "mistakes.ts"),
			`import type { AppType } from "bookstore-edge-api/client";
import { hc } from "hono/client";
const api = hc<AppType>("https://bookstore.example");
export async function mistakes() {
	await api.prebooks.$post({ json: { book_id: "7" } });
	await api.prebook.$get();
	const res = await api.prebooks.$post({ json: { book_id: 7 } });
	if (res.status === 409) {
		const error = await res.json();
		const code: "PREBOOK_NOT_FOUND" = error.code;
		return code;
	}
}
`,
		);
		try {
			const { ok, output } = compile(project);
			expect(ok).toBe(false);
			expect(output).toContain("mistakes.ts(5,");
			expect(output).toContain("Property 'prebook' does not exist");
			expect(output).toContain("mistakes.ts(10,");
			expect(output.match(/error TS/g)).toHaveLength(3);
		} finally {
			rmSync(join(project, "mistakes.ts"));
		}
	});
});
