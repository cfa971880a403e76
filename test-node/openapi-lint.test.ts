/**
 * The OpenAPI document passes `redocly lint` with the recommended rules (redocly.yaml) and no errors.
 *
 * Runs in Node: the app is loaded here (nothing in it needs the Workers runtime to build the document),
 * /openapi.json is written to a temporary file and the pinned Redocly CLI lints it in a child process, with
 * telemetry and update checks off, so nothing is downloaded or sent.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

interface LintProblem {
	ruleId: string;
	severity: "error" | "warn";
	message: string;
	location: { pointer?: string }[];
}

const root = fileURLToPath(new URL("..", import.meta.url));
const redocly = join(
	root,
	"node_modules/@redocly/cli",
	createRequire(import.meta.url)("@redocly/cli/package.json").bin.redocly,
);
const workDir = mkdtempSync(join(tmpdir(), "bookstore-openapi-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** GET /openapi.json from the app itself. The specifier is a variable so tsconfig.node.json does not type-check src/ with Node's types (src has its own tsconfig). */
async function openApiDocument(): Promise<unknown> {
	const appModule = join(root, "src/app.ts");
	const { app } = (await import(appModule)) as {
		app: { request(path: string, init: RequestInit, env: object): Promise<Response> };
	};
	// A D1 stand-in with a session: the pipeline opens one per request, the document never queries it.
	const session = { prepare() {}, batch() {}, getBookmark: () => null };
	const res = await app.request("/openapi.json", {}, { DB: { withSession: () => session } });
	expect(res.status).toBe(200);
	return res.json();
}

describe("OpenAPI document", () => {
	it("passes redocly lint (recommended rules) without errors", async () => {
		const file = join(workDir, "openapi.json");
		writeFileSync(file, JSON.stringify(await openApiDocument(), null, 2));
		const run = spawnSync(
			process.execPath,
			[redocly, "lint", file, "--config", join(root, "redocly.yaml"), "--format", "json"],
			{
				cwd: root,
				encoding: "utf8",
				env: {
					...process.env,
					REDOCLY_TELEMETRY: "off",
					REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
					REDOCLY_SUPPRESS_NOTIFICATIONS: "true",
				},
				timeout: 50_000,
			},
		);
		expect(run.error).toBeUndefined();
		const report = JSON.parse(run.stdout) as { totals: { errors: number }; problems: LintProblem[] };
		const errors = report.problems
			.filter((problem) => problem.severity === "error")
			.map((problem) => `${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`);
		expect(errors).toEqual([]);
		expect(report.totals.errors).toBe(0);
		expect(run.status, run.stderr).toBe(0);
	});
});
