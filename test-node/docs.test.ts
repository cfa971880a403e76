/**
 * The README and docs/ stay true to the repository: the README stays a newcomer's page, every link and
 * anchor resolves, every `npm run` script and repository path they name exists, the configuration table
 * names everything the Worker reads, and the README's deploy example is a configuration the Worker accepts.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { LOCAL_VARS } from "../scripts/local-vars.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");
const pages = ["README.md", ...readdirSync(join(root, "docs")).map((name) => `docs/${name}`)];
const readme = read("README.md");
const scripts = Object.keys(JSON.parse(read("package.json")).scripts as Record<string, string>);
const wrangler = unstable_readConfig({ config: join(root, "wrangler.toml") });

/**
 * The Worker's own configuration check. Imported by a non-literal specifier: src/ is typed against the
 * Workers' `Env`, which this Node project does not load (vitest runs the module all the same).
 */
const configModule = "../src/lib/config.ts";
const { loadConfig } = (await import(configModule)) as {
	loadConfig(vars: Record<string, string>): { production: boolean };
};

/** A page's text without its fenced code blocks (links and headings inside them are not markdown). */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
	heading
		.toLowerCase()
		.replace(/[`*]/g, "")
		.replace(/[^\p{L}\p{N}\s_-]/gu, "")
		.trim()
		.replace(/\s/g, "-");

const anchorsOf = (path: string) =>
	new Set([...prose(read(path)).matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => slug(match[1] as string)));

/** The first table under `## <section>`: its first column's cells, backticks removed. */
function firstColumn(text: string, section: string): string[] {
	const body = text.split(`\n## ${section}\n`)[1]?.split("\n## ")[0] ?? "";
	return body
		.split("\n")
		.filter((line) => line.startsWith("|") && !/^\|\s*-/.test(line))
		.slice(1)
		.map((line) => (line.split("|")[1] ?? "").replace(/`/g, "").trim());
}

describe("README.md and docs/", () => {
	it("keep the README a newcomer's page (at most ~300 lines) with the two commands up front", () => {
		expect(readme.split("\n").length).toBeLessThanOrEqual(300);
		const quickStart = readme.split("\n## ")[1] ?? "";
		expect(quickStart).toContain("npm ci && npm run dev");
		expect(quickStart).toContain("npm ci && npm test");
	});

	it("say the test command CI runs (.ci/run)", () => {
		const ci = read(".ci/run")
			.split("\n")
			.filter((line) => line.trim() && !line.startsWith("#"));
		expect(ci.at(-1)).toBe("npm ci && npm test");
	});

	it("link only to files and headings that exist", () => {
		for (const page of pages) {
			for (const [, target = ""] of prose(read(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
				if (/^[a-z]+:/i.test(target)) continue;
				const [file = "", anchor] = target.split("#");
				const path = file === "" ? page : relative(root, join(root, dirname(page), file));
				expect(existsSync(join(root, path)), `${page} → ${target}`).toBe(true);
				if (anchor) expect(anchorsOf(path), `${page} → ${target}`).toContain(anchor);
			}
		}
	});

	it("name only npm scripts that exist", () => {
		for (const page of pages) {
			for (const [, script] of read(page).matchAll(/npm run ([\w:-]+)/g))
				expect(scripts, `${page}: npm run ${script}`).toContain(script);
		}
	});

	it("name only repository paths that exist", () => {
		const prefixes = "src|scripts|test|test-node|bench|migrations|shims|examples|docs";
		const mention = new RegExp(`\`((?:${prefixes})/[\\w./-]*)\``, "g");
		for (const page of pages) {
			for (const [, path = ""] of read(page).matchAll(mention))
				expect(existsSync(join(root, path)), `${page}: ${path}`).toBe(true);
		}
	});

	it("list every variable, secret and binding the Worker reads in the README's configuration table", () => {
		const listed = firstColumn(readme, "Configuration");
		const declared = [
			...Object.keys(wrangler.vars),
			...Object.keys(LOCAL_VARS),
			...(wrangler.secrets?.required ?? []),
			...wrangler.d1_databases.map((database: { binding: string }) => database.binding),
			...(wrangler.queues.producers ?? []).map((producer: { binding: string }) => producer.binding),
			...wrangler.send_email.map((binding: { name: string }) => binding.name),
			...wrangler.ratelimits.map((limiter: { name: string }) => limiter.name),
			wrangler.assets?.binding ?? "ASSETS",
			...wrangler.triggers.crons.map((cron: string) => `cron ${cron}`),
		];
		for (const name of new Set(declared)) expect(listed, name).toContain(name);
		const consumers = readme.split("\n## Configuration\n")[1]?.split("\n## ")[0] ?? "";
		for (const queue of (wrangler.queues.consumers ?? []).map(
			(consumer: { queue: string }) => consumer.queue,
		))
			expect(consumers, queue).toContain(`\`${queue}\``);
	});

	it("give a deploy example that sets every site variable and that the Worker accepts in production", () => {
		const deploy = readme.split("\n## Deploy\n")[1] ?? "";
		const toml = /```toml\n\[vars\]\n([\s\S]*?)```/.exec(deploy)?.[1] ?? "";
		const vars = Object.fromEntries(
			[...toml.matchAll(/^(\w+) = "(.*)"$/gm)].map(([, name = "", value = ""]) => [name, value]),
		);
		const siteAndDeployed = new Set([...Object.keys(wrangler.vars), ...Object.keys(LOCAL_VARS)]);
		expect(Object.keys(vars).sort()).toEqual([...siteAndDeployed].sort());
		expect(vars).toMatchObject(wrangler.vars);
		const config = loadConfig({ ...vars, JWT_SECRET: "a".repeat(32), UNSUBSCRIBE_SECRET: "b".repeat(32) });
		expect(config.production).toBe(true);
	});
});
