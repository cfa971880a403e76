/**
 * Copies the pinned Swagger UI (`swagger-ui-dist`, an exact version in package.json) into
 * public/docs/swagger-ui/, which Workers Static Assets serve from the API's own origin: /docs loads
 * nothing from a CDN, and the Worker bundle carries none of Swagger UI's 1.7 MB.
 *
 * Runs on `npm install` and `npm ci` (`prepare`, which npm does not run where the package is installed as
 * a dependency: the typed client's consumers) and before `npm run dev`; the copy is git-ignored. wrangler (dev,
 * deploy, build) and the tests refuse to start without the assets directory, so a missing copy is loud:
 * run `npm install` (or this script) again.
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What /docs loads (see src/docs.ts), plus the license and notice Apache-2.0 asks to pass on. */
const FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"];

const target = fileURLToPath(new URL("../public/docs/swagger-ui/", import.meta.url));

export function copySwaggerUi(): void {
	const source = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
	rmSync(target, { recursive: true, force: true });
	mkdirSync(target, { recursive: true });
	for (const file of FILES) copyFileSync(join(source, file), join(target, file));
}

if (import.meta.main) copySwaggerUi();
