import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig, type Plugin } from "vitest/config";
import { LOCAL_VARS } from "./scripts/local-vars.ts";

const TEST_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef";
const TEST_UNSUBSCRIBE_SECRET = "test-only-unsubscribe-secret-0123456789";
// wrangler.toml declares JWT_SECRET as required; give the config check the test value (never a real one).
process.env.JWT_SECRET ??= TEST_JWT_SECRET;
process.env.UNSUBSCRIBE_SECRET ??= TEST_UNSUBSCRIBE_SECRET;
// Keep wrangler's config chatter ("Using secrets defined in …", once per test file) out of the test output.
process.env.WRANGLER_LOG ??= "warn";

// The standardwebhooks package (the tests' independent signature verifier) ships source maps that name
// sources it does not ship; Vite would say so on every cold run. Everything else Vite says is kept.
const quietStandardWebhooksSourcemap: Plugin = {
	name: "quiet-standardwebhooks-sourcemap",
	configResolved(config) {
		const warnOnce = config.logger.warnOnce.bind(config.logger);
		config.logger.warnOnce = (message, options) => {
			if (!/Sourcemap for ".*\/node_modules\/standardwebhooks\//.test(message)) warnOnce(message, options);
		};
	},
};

export default defineConfig(async () => ({
	plugins: [
		quietStandardWebhooksSourcemap,
		cloudflareTest({
			wrangler: { configPath: "./wrangler.toml" },
			miniflare: {
				bindings: {
					// The development configuration `npm run dev` uses (wrangler.toml holds the production one).
					...LOCAL_VARS,
					// Test-only values; production reads JWT_SECRET from `wrangler secret put`.
					JWT_SECRET: TEST_JWT_SECRET,
					UNSUBSCRIBE_SECRET: TEST_UNSUBSCRIBE_SECRET,
					ADMIN_EMAILS: "admin@bookstore.local, Boss@Example.com",
					// The same SQL files wrangler applies, applied per test file by test/setup.ts.
					TEST_MIGRATIONS: await readD1Migrations("./migrations"),
				},
			},
		}),
	],
	resolve: {
		// The bundle's zod (wrangler.toml [alias]): exactly "zod", never "zod/v4" (which the shim imports).
		alias: [{ find: /^zod$/, replacement: fileURLToPath(new URL("./shims/zod.ts", import.meta.url)) }],
	},
	test: {
		include: ["test/**/*.test.ts"],
		setupFiles: ["./test/setup.ts"],
		// Every vi.spyOn is undone before the next test: no test inherits another's stubs.
		restoreMocks: true,
		// The app's structured logs are shown for failing tests only.
		silent: "passed-only" as const,
		// One runtime (workerd, with its module cache) for every test file: starting one per file cost about
		// 3 s a file. Each file still starts from the migrated, empty schema and an empty cache (test/setup.ts).
		isolate: false,
		// The 50,000-row and 50-round race tests take seconds on 2 cores.
		testTimeout: 30_000,
		hookTimeout: 30_000,
	},
}));
