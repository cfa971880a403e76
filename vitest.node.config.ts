/**
 * Tests that need Node rather than the Workers runtime (test-node/): they load the app in Node to read its
 * OpenAPI document and run tools on it (Redocly CLI). `npm test` runs them after the Workers tests.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
	resolve: {
		// The same zod as the Worker bundle and the Workers tests (vitest.config.ts).
		alias: [{ find: /^zod$/, replacement: fileURLToPath(new URL("./shims/zod.ts", import.meta.url)) }],
	},
	test: {
		include: ["test-node/**/*.test.ts"],
		environment: "node",
		silent: "passed-only" as const,
		testTimeout: 60_000,
	},
});
