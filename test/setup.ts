import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach } from "vitest";
import { forgetEmailRecorder, stubEmailBinding, stubQueue, stubWebhookQueue } from "./helpers";

// Storage is isolated per test file: each file starts from the migrated, empty schema.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// No message reaches the real queues: their consumers would run in the background, outside any test, and
// write to the file's database while later tests run. Tests deliver messages to the consumer themselves.
// (`restoreMocks` undoes the stub after each test; this makes a fresh one.)
beforeEach(() => {
	stubQueue();
	stubWebhookQueue();
	stubEmailBinding();
	forgetEmailRecorder();
});
