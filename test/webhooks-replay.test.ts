import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { REPLAY_PAGE } from "../src/features/webhooks/webhook-replay";
import { api, createAdmin, createBook, createUser, prebookAll, runCron, type TestUser } from "./helpers";
import { captureWebhookQueue, deliverWebhooks, receiver, registerWebhook } from "./webhooks-helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});
let queue: ReturnType<typeof captureWebhookQueue>;
beforeEach(() => {
	queue = captureWebhookQueue();
	vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
});
afterEach(async () => {
	vi.restoreAllMocks();
	// A window "from now" must not catch an earlier test's events: batches may stamp a few milliseconds
	// ahead of the clock (src/lib/clock.ts), so each test starts with an empty outbox.
	await env.DB.batch([
		env.DB.prepare("DELETE FROM webhook_deliveries"),
		env.DB.prepare("DELETE FROM webhook_events"),
		env.DB.prepare("DELETE FROM webhook_endpoints"),
	]);
});

const MINUTE = 60 * 1000;
const DAY = 24 * 60 * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();
/** A window around what the test does from now on. */
const windowFromNow = () => ({ since: iso(Date.now() - 1), until: iso(Date.now() + 10 * MINUTE) });

const replay = (endpointId: number, body: unknown) =>
	api("POST", `/admin/webhooks/${endpointId}/replay`, { token: admin.token, body });

/** `count` stored, published events of `type`, recorded now (straight into D1). */
async function seedEvents(count: number, type = "restock.created") {
	await env.DB.prepare(
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		 INSERT INTO webhook_events (type, payload, source_key, created_at, published_at)
		 SELECT ?, json_object('seeded', i), 'replay-test:' || ? || ':' || i,
			strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM n`,
	)
		.bind(count, type, crypto.randomUUID())
		.run();
}

/** Delivery ids of the endpoint's deliveries put on the queue so far (deduplicated). */
async function queuedFor(endpointId: number): Promise<number[]> {
	const { results } = await env.DB.prepare("SELECT id FROM webhook_deliveries WHERE endpoint_id = ?")
		.bind(endpointId)
		.all<{ id: number }>();
	const ours = new Set(results.map((row) => row.id));
	return [...new Set(queue.ids())].filter((id) => ours.has(id));
}

describe("POST /admin/webhooks/{id}/replay", () => {
	it("delivers the window's events again with their original webhook-id", async () => {
		const window = windowFromNow();
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await prebookAll([await createUser()], book.id);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		await vi.waitFor(async () => expect(await queuedFor(hook.id)).toHaveLength(1));
		const [deliveryId] = (await queuedFor(hook.id)) as [number];
		const { received } = receiver();
		await deliverWebhooks([deliveryId]);
		expect(received).toHaveLength(1);
		const original = received[0];

		const res = await replay(hook.id, window);
		expect(res.status, JSON.stringify(res.body)).toBe(202);
		// The endpoint's subscribed types by default: restock.created only, not the prebook.notified beside it.
		expect(res.body).toEqual({ queued: 1 });
		queue.sendBatch.mockClear();
		await runCron(Date.now());
		expect(queue.ids()).toEqual([deliveryId]);
		await deliverWebhooks([deliveryId]);
		expect(received).toHaveLength(2);
		expect(received[1]?.headers["webhook-id"]).toBe(original?.headers["webhook-id"]);
		expect(received[1]?.body).toBe(original?.body);
		const row = await env.DB.prepare("SELECT status, attempts FROM webhook_deliveries WHERE id = ?")
			.bind(deliveryId)
			.first();
		expect(row).toEqual({ status: "succeeded", attempts: 1 });
		// Finished: later cron runs queue nothing more.
		queue.sendBatch.mockClear();
		await runCron(Date.now());
		expect(queue.ids()).toEqual([]);
	});

	it(`queues a large replay ${REPLAY_PAGE} events at a time, only as the endpoint catches up, at most 5 in flight`, async () => {
		const window = windowFromNow();
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		await seedEvents(250);
		await seedEvents(30, "prebook.expired");
		const res = await replay(hook.id, { ...window, types: ["restock.created"] });
		expect(res.body).toEqual({ queued: 250 });

		await runCron(Date.now());
		const firstPage = await queuedFor(hook.id);
		expect(firstPage).toHaveLength(REPLAY_PAGE);
		// The endpoint has not taken them: the next run queues nothing more.
		await runCron(Date.now());
		expect(await queuedFor(hook.id)).toHaveLength(REPLAY_PAGE);
		// The consumer holds to the endpoint's in-flight cap.
		const slow = receiver();
		await deliverWebhooks(firstPage.slice(0, 10));
		expect(slow.received).toHaveLength(5);

		// The endpoint catches up: one page more per run, in seq order, every event once.
		const catchUp = () =>
			env.DB.prepare("UPDATE webhook_deliveries SET status = 'succeeded' WHERE endpoint_id = ?")
				.bind(hook.id)
				.run();
		await catchUp();
		await runCron(Date.now());
		expect(await queuedFor(hook.id)).toHaveLength(2 * REPLAY_PAGE);
		await catchUp();
		await runCron(Date.now());
		const all = await queuedFor(hook.id);
		expect(all).toHaveLength(250);
		const { results } = await env.DB.prepare(
			"SELECT DISTINCT event_type FROM webhook_deliveries WHERE endpoint_id = ?",
		)
			.bind(hook.id)
			.all();
		expect(results).toEqual([{ event_type: "restock.created" }]);
		const replayRow = await env.DB.prepare("SELECT finished_at FROM webhook_replays WHERE endpoint_id = ?")
			.bind(hook.id)
			.first<{ finished_at: string | null }>();
		expect(replayRow?.finished_at).toMatch(/Z$/);
	});

	it("takes type groups, and waits while the endpoint is disabled", async () => {
		const window = windowFromNow();
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		await seedEvents(3, "prebook.expired");
		await seedEvents(2, "restock.created");
		expect((await replay(hook.id, { ...window, types: ["prebook.*"] })).body).toEqual({ queued: 3 });
		await api("PATCH", `/admin/webhooks/${hook.id}`, { token: admin.token, body: { enabled: false } });
		await runCron(Date.now());
		expect(await queuedFor(hook.id)).toEqual([]);
		await api("PATCH", `/admin/webhooks/${hook.id}`, { token: admin.token, body: { enabled: true } });
		await runCron(Date.now());
		expect(await queuedFor(hook.id)).toHaveLength(3);
	});

	it("refuses a window out of bounds, unknown types (422) and an unknown endpoint (404)", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const now = Date.now();
		for (const [body, field] of [
			[{ since: iso(now), until: iso(now - MINUTE) }, "until"],
			[{ since: iso(now - 8 * DAY), until: iso(now) }, "until"],
			[{ since: iso(now - 31 * DAY), until: iso(now - 30 * DAY + MINUTE) }, "since"],
			[{ since: "yesterday", until: iso(now) }, "since"],
			[{ since: iso(now - DAY), until: iso(now), types: ["order.*"] }, "types"],
			[{ since: iso(now - DAY), until: iso(now), types: [] }, "types"],
			[{ until: iso(now) }, "since"],
		] as const) {
			const res = await replay(hook.id, body);
			expect(res.status, JSON.stringify(body)).toBe(422);
			expect(res.body).toMatchObject({ code: "VALIDATION_ERROR", field });
		}
		// Offsets are accepted (RFC 3339), and exactly 7 days is within the bound.
		const since = iso(now - 7 * DAY).replace("Z", "+00:00");
		const ok = await replay(hook.id, { since, until: iso(now) });
		expect(ok.status, JSON.stringify(ok.body)).toBe(202);
	});

	it("answers 404 for an unknown endpoint and 403 to a reader", async () => {
		const window = windowFromNow();
		const missing = await replay(999_999, window);
		expect(missing.status).toBe(404);
		expect(missing.body.code).toBe("WEBHOOK_NOT_FOUND");
		const reader = await createUser();
		const res = await api("POST", "/admin/webhooks/1/replay", { token: reader.token, body: window });
		expect(res.status).toBe(403);
	});
});
