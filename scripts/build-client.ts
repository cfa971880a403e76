/**
 * `npm run build:client` (and `npm pack`, through `prepack`): the typed client's declarations,
 * dist-types/client.d.ts, the one file the package ships (package.json `files`, export `./client`).
 *
 * tsc emits them from src/client.ts, which has the compiler write every route out as plain types. This
 * script then checks what a consumer's compiler will meet: the file may import only from hono's public
 * entry points (the consumer's own hono, a peer dependency), never this app's modules, zod, drizzle or the
 * Workers types — any of those would make the client depend on versions the consumer does not control.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const CLIENT_DECLARATIONS = "dist-types/client.d.ts";

/** What the declarations may import: hono's public modules (all of them in hono's package `exports`). */
const ALLOWED = new Set(["hono", "hono/types", "hono/utils/http-status", "hono/utils/types"]);

/** Every module the declarations import (`import … from "m"`, `import("m")`) that is not allowed. */
export function foreignImports(declarations: string): string[] {
	const modules = [...declarations.matchAll(/(?:from\s+|import\()\s*"([^"]+)"/g)].map((match) => match[1]);
	return [...new Set(modules)].filter((module): module is string => !ALLOWED.has(module as string));
}

export function buildClient(): void {
	rmSync(`${ROOT}dist-types`, { recursive: true, force: true });
	const tsc = spawnSync("tsc", ["-p", "tsconfig.client.json"], { cwd: ROOT, stdio: "inherit" });
	if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.client.json failed (exit ${tsc.status})`);
	const foreign = foreignImports(readFileSync(`${ROOT}${CLIENT_DECLARATIONS}`, "utf8"));
	if (foreign.length > 0)
		throw new Error(
			`${CLIENT_DECLARATIONS} imports ${foreign.join(", ")}: a consumer would need this app's or another ` +
				"library's types. Keep the routes' types plain (see src/client.ts).",
		);
}

if (import.meta.main) {
	try {
		buildClient();
		console.log(`${CLIENT_DECLARATIONS}: every route as plain types, importing only hono.`);
	} catch (err) {
		console.error(err instanceof Error ? err.message : String(err));
		process.exit(1);
	}
}
