import { beforeEach } from "vitest";
import { forgetBatchTimes } from "../src/lib/clock";
import {
	forgetEmailRecorder,
	startFromEmptyStorage,
	stubEmailBinding,
	stubQueue,
	stubWebhookQueue,
} from "./helpers";

// One runtime serves every test file (`isolate: false`, vitest.config.ts), yet each file starts as if it
// had the runtime to itself: the migrated, empty schema and an empty catalog cache.
await startFromEmptyStorage();

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

// A test that moved the clock ahead (vi.spyOn(Date, "now")) leaves no batch time in that future.
beforeEach(forgetBatchTimes);
