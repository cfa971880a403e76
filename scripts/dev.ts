/**
 * `npm run dev`: everything a fresh clone needs, then `wrangler dev`.
 *  1. Swagger UI copied into the static assets (as on `npm install`), so /docs works offline;
 *  2. .dev.vars (git-ignored): the development values and a local JWT_SECRET and UNSUBSCRIBE_SECRET;
 *  3. migrations applied to the local D1 (wrangler's own tracker, as in production);
 *  4. demo data seeded once;
 *  5. `wrangler dev` (extra arguments are passed on, e.g. `npm run dev -- --port 9000`).
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { copySwaggerUi } from "./docs-assets.ts";
import { LOCAL_VARS } from "./local-vars.ts";
import { DEMO_ADMIN, DEMO_READER, seedDemoData } from "./seed.ts";

const DEV_VARS = ".dev.vars";

/** A line `NAME=value` of .dev.vars (dotenv syntax: quoted, so spaces and `<>` survive). */
const devVarLine = (name: string, value: string) => `${name}=${JSON.stringify(value)}\n`;

/**
 * .dev.vars, completed without overwriting what is there: the development values (scripts/local-vars.ts;
 * wrangler.toml holds none, so a deploy cannot inherit them) and a random local value for each secret
 * (production sets its own with `wrangler secret put`). An edited value stays as edited.
 */
function ensureDevVars(): void {
	const current = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "";
	const has = (name: string, pattern = ".*") => new RegExp(`^${name}=${pattern}$`, "m").test(current);
	const missingVars = Object.entries(LOCAL_VARS).filter(([name]) => !has(name));
	const missingSecrets = ["JWT_SECRET", "UNSUBSCRIBE_SECRET"].filter((name) => !has(name, ".{32,}"));
	if (missingVars.length === 0 && missingSecrets.length === 0) return;
	appendFileSync(
		DEV_VARS,
		(current && !current.endsWith("\n") ? "\n" : "") +
			missingVars.map(([name, value]) => devVarLine(name, value)).join("") +
			missingSecrets.map((name) => devVarLine(name, randomBytes(32).toString("base64url"))).join(""),
	);
	const added = [...missingVars.map(([name]) => name), ...missingSecrets];
	console.log(
		`Wrote ${added.join(", ")} to ${DEV_VARS} (local values, git-ignored; production sets its own, see README "Deploy").`,
	);
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
ensureDevVars();
applyMigrations();
const seeded = await seedDemoData();
console.log(
	`Demo data ${seeded}. Local-only accounts: ${DEMO_ADMIN.email} / ${DEMO_ADMIN.password} (admin), ${DEMO_READER.email} / ${DEMO_READER.password}.`,
);

const dev = spawn("wrangler", ["dev", ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
