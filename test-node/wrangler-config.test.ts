/**
 * wrangler.toml is what `wrangler deploy` ships: it must carry no development value (those live in
 * scripts/local-vars.ts → .dev.vars), and it must ask for production's rules.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { deployProblems } from "../scripts/check-deploy.ts";
import { LOCAL_VARS } from "../scripts/local-vars.ts";

describe("wrangler.toml", () => {
	const config = unstable_readConfig({ config: "wrangler.toml" });

	it("deploys with ENVIRONMENT=production and none of the development values", () => {
		expect(config.vars).toEqual({ ENVIRONMENT: "production", PAYMENT_PROVIDER: "test" });
		for (const name of Object.keys(LOCAL_VARS))
			if (name !== "ENVIRONMENT") expect(config.vars).not.toHaveProperty(name);
	});

	it("requires both secrets, so a deploy without them is refused by wrangler", () => {
		expect(config.secrets?.required).toEqual(["JWT_SECRET", "UNSUBSCRIBE_SECRET"]);
	});
});

describe("npm run deploy", () => {
	const dir = mkdtempSync(join(tmpdir(), "deploy-check-"));
	afterAll(() => rmSync(dir, { recursive: true, force: true }));
	let copies = 0;
	/** wrangler.toml with another database id, as a file of its own. */
	const withDatabaseId = (id: string) => {
		const path = join(dir, `wrangler-${++copies}.toml`);
		writeFileSync(
			path,
			readFileSync("wrangler.toml", "utf8")
				.replace(/database_id = "[^"]*"/, `database_id = "${id}"`)
				// Relative paths of the configuration, resolved from the copy's directory.
				.replace(/"\.\/(shims|public)/g, `"${process.cwd()}/$1`),
		);
		return path;
	};

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
