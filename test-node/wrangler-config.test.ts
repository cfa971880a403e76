/**
 * wrangler.toml is what `wrangler deploy` ships. What matters is checked, not the file's exact text, so a
 * deployment that adds its site values to `[vars]` as the README shows stays green: the bindings the Worker
 * needs, no secret among the vars, `ENVIRONMENT = "production"`, a payment provider the Worker ships, and
 * no development value (those live in scripts/local-vars.ts → `--var`s) — each var that is set must pass
 * the production Worker's own configuration check (src/lib/config.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { deployProblems } from "../scripts/check-deploy.ts";
import { LOCAL_VARS } from "../scripts/local-vars.ts";

/** What this test reads of wrangler's parsed configuration. */
interface WranglerConfig {
	vars: Record<string, unknown>;
	d1_databases: { binding: string; database_name?: string; migrations_dir?: string }[];
	queues: {
		producers?: { binding: string; queue: string }[];
		consumers?: { queue: string; dead_letter_queue?: string }[];
	};
	send_email: { name: string }[];
	ratelimits: { name: string }[];
	assets?: { binding?: string };
	triggers: { crons?: string[] };
	secrets?: { required?: string[] };
}
const readConfig = (path: string) => unstable_readConfig({ config: path }) as WranglerConfig;

// The Worker's configuration check, loaded at run time (as test-node/openapi-lint.test.ts loads the app):
// src/ is type-checked with the Workers types by tsconfig.json, not with this project's Node types.
const configModule = "../src/lib/config.ts";
const { loadConfig, ConfigError } = (await import(configModule)) as {
	loadConfig: (env: Record<string, unknown>) => unknown;
	ConfigError: new (...args: never[]) => Error & { problems: string[] };
};

const SECRETS = ["JWT_SECRET", "UNSUBSCRIBE_SECRET"];
/** The deployment's own values: in `[vars]` or passed with `--var` (README, "Deploy"). */
const SITE_VARS = ["ADMIN_EMAILS", "CORS_ORIGINS", "APP_URL", "API_URL", "MAIL_FROM"];

/** What the production Worker would say about these vars, with its secrets set (`wrangler secret put`). */
function workerProblems(vars: Record<string, unknown>): string[] {
	try {
		loadConfig({
			...vars,
			JWT_SECRET: "a-production-jwt-secret-of-32-characters-or-more",
			UNSUBSCRIBE_SECRET: "another-production-secret-of-32-characters",
		});
		return [];
	} catch (err) {
		if (err instanceof ConfigError) return err.problems;
		throw err;
	}
}

/** Why `config` is not a deployable configuration of this Worker; empty when it is. */
function configurationProblems(config: WranglerConfig): string[] {
	const problems: string[] = [];
	const vars = config.vars;
	const has = (condition: boolean, what: string) => {
		if (!condition) problems.push(`missing ${what}`);
	};
	has(
		config.d1_databases.some(
			(db) => db.binding === "DB" && db.database_name === "bookstore" && db.migrations_dir === "migrations",
		),
		"the D1 binding DB (bookstore, migrations/)",
	);
	const producers = config.queues.producers ?? [];
	has(
		producers.some((p) => p.binding === "PREBOOK_QUEUE" && p.queue === "prebook-notifications"),
		"PREBOOK_QUEUE",
	);
	has(
		producers.some((p) => p.binding === "WEBHOOK_QUEUE" && p.queue === "webhook-deliveries"),
		"WEBHOOK_QUEUE",
	);
	const consumers = config.queues.consumers ?? [];
	for (const [queue, deadLetters] of [
		["prebook-notifications", "prebook-notifications-dlq"],
		["webhook-deliveries", "webhook-deliveries-dlq"],
	] as const) {
		has(
			consumers.some((c) => c.queue === queue && c.dead_letter_queue === deadLetters),
			`the consumer of ${queue}`,
		);
		has(
			consumers.some((c) => c.queue === deadLetters),
			`the consumer of ${deadLetters}`,
		);
	}
	has(
		config.send_email.some((e) => e.name === "EMAIL"),
		"the send_email binding EMAIL",
	);
	has(
		config.ratelimits.some((r) => r.name === "AUTH_RATE_LIMITER"),
		"the rate limiter AUTH_RATE_LIMITER",
	);
	has(config.assets?.binding === "ASSETS", "the static assets binding ASSETS");
	has(config.triggers.crons?.includes("* * * * *") ?? false, "the cron trigger * * * * *");
	has(
		SECRETS.every((name) => config.secrets?.required?.includes(name)),
		`required secrets ${SECRETS}`,
	);

	for (const name of Object.keys(vars))
		if (SECRETS.includes(name) || /secret|password|token|private/i.test(name))
			problems.push(`${name} is a secret: \`wrangler secret put ${name}\`, never [vars]`);
	if (vars.ENVIRONMENT !== "production") problems.push('ENVIRONMENT must be "production"');
	for (const [name, value] of Object.entries(LOCAL_VARS))
		if (name !== "ENVIRONMENT" && vars[name] === value) problems.push(`${name} is the development value`);
	// Site vars a deployment passes with --var instead may be absent here; every other problem counts.
	for (const problem of workerProblems(vars))
		if (!SITE_VARS.some((name) => problem.startsWith(`${name} is missing`))) problems.push(problem);
	return problems;
}

const dir = mkdtempSync(join(tmpdir(), "wrangler-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let copies = 0;
/** wrangler.toml edited by `edit`, as a file of its own. */
function copyOfWranglerToml(edit: (toml: string) => string): string {
	const path = join(dir, `wrangler-${++copies}.toml`);
	writeFileSync(
		path,
		edit(readFileSync("wrangler.toml", "utf8"))
			// Relative paths of the configuration, resolved from the copy's directory.
			.replace(/"\.\/(shims|public)/g, `"${process.cwd()}/$1`),
	);
	return path;
}
const readCopy = (edit: (toml: string) => string) => readConfig(copyOfWranglerToml(edit));

/** The README's Deploy example: the whole `[vars]` table a deployment writes into wrangler.toml. */
const README_VARS = (() => {
	const readme = readFileSync("README.md", "utf8");
	const deploy = readme.slice(readme.indexOf("## Deploy"));
	const block = /```toml\n(\[vars\]\n[\s\S]*?)```/.exec(deploy)?.[1];
	if (!block) throw new Error("README.md's Deploy section has no ```toml [vars] example");
	return block;
})();
/** `toml` with its `[vars]` table (up to the next table) replaced by `table`. */
const withVars = (table: string) => (toml: string) =>
	toml.replace(/^\[vars\]\n[\s\S]*?(?=^\[)/m, `${table}\n`);

describe("wrangler.toml", () => {
	const config = readConfig("wrangler.toml");

	it("is deployable: every binding, production rules, no secret and no development value in [vars]", () => {
		expect(configurationProblems(config)).toEqual([]);
		expect(config.vars).toMatchObject({ ENVIRONMENT: "production", PAYMENT_PROVIDER: "test" });
	});

	it("requires both secrets, so a deploy without them is refused by wrangler", () => {
		expect(config.secrets?.required).toEqual(["JWT_SECRET", "UNSUBSCRIBE_SECRET"]);
	});

	it("stays deployable with the README's [vars] example applied, which the Worker accepts in full", () => {
		const deployed = readCopy(withVars(README_VARS));
		expect(Object.keys(deployed.vars).sort()).toEqual(
			["ENVIRONMENT", "PAYMENT_PROVIDER", ...SITE_VARS].sort(),
		);
		expect(configurationProblems(deployed)).toEqual([]);
		expect(workerProblems(deployed.vars)).toEqual([]);
	});

	it("is refused with a development value, a secret among the vars, another ENVIRONMENT or a lost binding", () => {
		const readmeWith = (line: string) => withVars(`${README_VARS}${line}\n`);
		expect(
			configurationProblems(
				readCopy(withVars(README_VARS.replace(/APP_URL = .*/, 'APP_URL = "http://localhost:8787"'))),
			),
		).toEqual(["APP_URL is the development value", "APP_URL must not be a local URL in production"]);
		expect(configurationProblems(readCopy(readmeWith('PAYMENT_API_TOKEN = "tok_live_x"')))).toEqual([
			"PAYMENT_API_TOKEN is a secret: `wrangler secret put PAYMENT_API_TOKEN`, never [vars]",
		]);
		expect(
			configurationProblems(readCopy(withVars(README_VARS.replace('"production"', '"development"')))),
		).toEqual(['ENVIRONMENT must be "production"']);
		expect(
			configurationProblems(
				readCopy((toml) => toml.replace('binding = "WEBHOOK_QUEUE"', 'binding = "HOOKS"')),
			),
		).toEqual(["missing WEBHOOK_QUEUE"]);
	});
});

describe("npm run deploy", () => {
	/** wrangler.toml with another database id, as a file of its own. */
	const withDatabaseId = (id: string) =>
		copyOfWranglerToml((toml) => toml.replace(/database_id = "[^"]*"/, `database_id = "${id}"`));

	it("refuses wrangler.toml's placeholder database id, saying where the real one goes", () => {
		const problems = deployProblems("wrangler.toml").join("\n");
		expect(problems).toContain('database_id = "00000000-0000-0000-0000-000000000000"');
		expect(problems).toContain("npx wrangler d1 create bookstore");
		expect(problems).toContain('binding = "DB"');
		expect(deployProblems(withDatabaseId("not-an-id"))).not.toEqual([]);
	});

	it("goes on with a real database id, and checks before migrating or deploying", () => {
		expect(deployProblems(withDatabaseId("3f1c2a9e-7b4d-4e21-9c55-0d8e6f1a2b3c"))).toEqual([]);
		const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
		expect(pkg.scripts.deploy?.startsWith("node scripts/check-deploy.ts && ")).toBe(true);
	});
});
