import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach } from "vitest";
import { forgetEmailRecorder, stubEmailBinding, stubQueue, stubWebhookQueue } from "./helpers";

// One runtime serves every test file (`isolate: false`, vitest.config.ts), yet each file starts as if it
// had the runtime to itself: the migrated, empty schema (`reset()` drops every binding's stored data)…
await reset();
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// …and an empty catalog cache. `reset()` leaves the Cache API alone, and after it ids start again at 1, so
// another file's cached `GET /books/1` would answer for this file's book 1. `caches.default` is this
// file's own cache instead (the same Cache API, under a name no other file uses).
Object.defineProperty(caches, "default", {
	value: await caches.open(`test-file-${crypto.randomUUID()}`),
	configurable: true,
});

// No message reaches the real queues: their consumers would run in the background, outside any test, and
// write to the file's database while later tests run. Tests deliver messages to the consumer themselves.
// Stubbed for the file's `beforeAll` hooks too, and again before each test (`restoreMocks` undoes the stubs
// after each one). A real send through the EMAIL binding after another file's spy was restored leaves the
// binding so that the app's later sends miss the next spy: the binding is never used unstubbed.
function stubOutboundBindings() {
	stubQueue();
	stubWebhookQueue();
	stubEmailBinding();
	forgetEmailRecorder();
}
stubOutboundBindings();
beforeEach(stubOutboundBindings);
