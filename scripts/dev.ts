/**
 * `npm run dev`: everything a fresh clone needs, then `wrangler dev`.
 *  1. Swagger UI copied into the static assets (as on `npm install`), so /docs works offline;
 *  2. local JWT_SECRET and UNSUBSCRIBE_SECRET in .dev.vars (generated once, git-ignored);
 *  3. migrations applied to the local D1 (wrangler's own tracker, as in production);
 *  4. demo data seeded once;
 *  5. `wrangler dev` with the development configuration (scripts/local-vars.ts, as `--var`s: wrangler.toml
 *     holds production's, and wrangler reads only declared names and secrets from .dev.vars), its URLs on
 *     the `--port` given. Extra arguments are passed on after them (a later `--var NAME:value` wins).
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { copySwaggerUi } from "./docs-assets.ts";
import { localVarArgs } from "./local-vars.ts";
import { DEMO_ADMIN, DEMO_READER, seedDemoData } from "./seed.ts";

const DEV_VARS = ".dev.vars";

/** A random local value for each secret .dev.vars lacks (production sets them with `wrangler secret put`). */
function ensureLocalSecrets(): void {
	for (const name of ["JWT_SECRET", "UNSUBSCRIBE_SECRET"]) {
		const current = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "";
		if (new RegExp(`^${name}=.{32,}$`, "m").test(current)) continue;
		appendFileSync(
			DEV_VARS,
			`${current && !current.endsWith("\n") ? "\n" : ""}${name}=${randomBytes(32).toString("base64url")}\n`,
		);
		console.log(
			`Generated a local ${name} in ${DEV_VARS} (git-ignored; production uses \`wrangler secret put\`).`,
		);
	}
}

/**
 * The local D1's migrations, as production applies them (wrangler's own tracker). wrangler prints its status
 * table once per migration; a fresh clone would scroll through fifteen of them, so the output is kept and
 * shown only if something fails, and a one-line summary is printed instead.
 */
function applyMigrations(): void {
	const result = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], {
		encoding: "utf8",
		env: { ...process.env, CI: "true" },
	});
	if (result.status !== 0) {
		process.stdout.write(result.stdout ?? "");
		process.stderr.write(result.stderr ?? "");
		process.exit(result.status ?? 1);
	}
	const applied = /About to apply (\d+) migration/.exec(result.stdout ?? "")?.[1];
	console.log(
		applied
			? `Applied ${applied} migration(s) to the local D1 (.wrangler/state).`
			: "Local D1 is up to date.",
	);
}

copySwaggerUi();
ensureLocalSecrets();
applyMigrations();
const seeded = await seedDemoData();
console.log(
	`Demo data ${seeded}. Local-only accounts: ${DEMO_ADMIN.email} / ${DEMO_ADMIN.password} (admin), ${DEMO_READER.email} / ${DEMO_READER.password}.`,
);

/** `--port N` or `--port=N` among the arguments, so the email links point at the port the API listens on. */
function portOf(args: string[]): string | undefined {
	const at = args.findIndex((arg) => arg === "--port" || arg.startsWith("--port="));
	if (at < 0) return undefined;
	return args[at]?.includes("=") ? args[at]?.split("=")[1] : args[at + 1];
}

const args = process.argv.slice(2);
const port = portOf(args);
const local: Record<string, string> = port
	? {
			APP_URL: `http://localhost:${port}`,
			API_URL: `http://localhost:${port}`,
			CORS_ORIGINS: `http://localhost:3000,http://localhost:${port}`,
		}
	: {};
const dev = spawn("wrangler", ["dev", ...localVarArgs(local), ...args], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
