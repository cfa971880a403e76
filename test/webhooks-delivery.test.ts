import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
	CLAIM_LEASE_MS,
	MAX_DELIVERY_ATTEMPTS,
	MAX_IN_FLIGHT_PER_ENDPOINT,
} from "../src/features/webhooks/webhook-ledger";
import { api, createAdmin, createBook, createUser, runCron, type TestUser } from "./helpers";
import {
	captureWebhookQueue,
	deadLetter,
	deliverWebhooks,
	delivery,
	eventsOf,
	RECEIVER_URL,
	receiver,
	registerWebhook,
	seedDeliveries,
} from "./webhooks-helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});
afterEach(async () => {
	vi.restoreAllMocks();
	// Each test registers its own endpoints; none receives another test's events.
	await env.DB.prepare("DELETE FROM webhook_endpoints").run();
});

/** Readers pre-book a new out-of-stock book; the admin restocks it. Returns the book and the readers. */
async function restockWithReaders(readerCount: number, options: { quantity?: number } = {}) {
	const book = await createBook(admin.token, { stock_quantity: 0 });
	const readers: TestUser[] = [];
	for (let i = 0; i < readerCount; i++) {
		const reader = await createUser();
		expect((await api("POST", "/prebooks", { token: reader.token, body: { book_id: book.id } })).status).toBe(
			201,
		);
		readers.push(reader);
	}
	vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
	const res = await api("PATCH", `/books/${book.id}/stock`, {
		token: admin.token,
		body: { quantity: options.quantity ?? 3 },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return { book, readers };
}

/** Waits for the publication that follows a response to put `count` deliveries on the queue. */
async function queued(queue: ReturnType<typeof captureWebhookQueue>, count: number) {
	await vi.waitFor(() => expect(queue.ids()).toHaveLength(count));
	return queue.ids();
}

describe("a delivery", () => {
	it("POSTs each subscribed event, signed per Standard Webhooks (verified by the standardwebhooks library)", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created", "prebook.notified"]);
		const queue = captureWebhookQueue();
		const { book, readers } = await restockWithReaders(2);
		const ids = await queued(queue, 2);
		const { received } = receiver();

		const { result } = await deliverWebhooks(ids);
		expect(result.explicitAcks.length).toBe(2);
		expect(received).toHaveLength(2);
		const verifier = new Webhook(hook.secret);
		const bodies = received.map((request) => {
			expect(request.url).toBe(RECEIVER_URL);
			expect(request.init.method).toBe("POST");
			expect(request.headers["content-type"]).toBe("application/json");
			expect(request.headers["webhook-id"]).toMatch(/^evt_\d+$/);
			expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
			expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
			return verifier.verify(request.body, request.headers) as { type: string; timestamp: string; data: any };
		});
		const restock = bodies.find((body) => body.type === "restock.created");
		const notified = bodies.find((body) => body.type === "prebook.notified");
		expect(restock?.data).toMatchObject({
			book_id: book.id,
			quantity_before: 0,
			quantity_after: 3,
			notified_count: 2,
		});
		expect(notified?.data).toMatchObject({ book_id: book.id, restock_id: restock?.data.restock_id });
		expect([...(notified?.data.user_ids ?? [])].sort()).toEqual(readers.map((r) => r.id).sort());
		expect(notified?.data.prebook_ids).toHaveLength(2);
		expect(notified?.timestamp).toBe(notified?.data.notified_at);
		// Nothing personal beyond ids.
		for (const request of received)
			for (const reader of readers) expect(request.body).not.toContain(reader.email);

		for (const id of ids)
			expect(await delivery(id)).toMatchObject({ status: "succeeded", attempts: 1, last_status_code: 200 });
		const listed = await api("GET", `/admin/webhooks/${hook.id}/deliveries`, { token: admin.token });
		expect(listed.body.items.map((item: any) => item.status)).toEqual(["succeeded", "succeeded"]);
		expect(listed.body.items[0].delivered_at).toMatch(/Z$/);
	});

	it("is retried with exponential backoff on a 500, then recorded dead by the dead-letter queue", async () => {
		await registerWebhook(admin.token, ["restock.created"]);
		const queue = captureWebhookQueue();
		await restockWithReaders(0);
		const [id] = (await queued(queue, 1)) as [number];
		const { received } = receiver(() => new Response("database is down\nretry later", { status: 500 }));

		const delays: (number | undefined)[] = [];
		for (let attempt = 1; attempt <= MAX_DELIVERY_ATTEMPTS; attempt++) {
			const { result, retryDelays } = await deliverWebhooks([id], { attempts: attempt });
			expect(result.retryMessages).toHaveLength(1);
			delays.push(...retryDelays);
			expect(await delivery(id)).toMatchObject({
				status: "failed",
				attempts: attempt,
				last_status_code: 500,
				last_error: "HTTP 500: database is down retry later",
			});
		}
		// Each within ±20 % of 30 s × 4ⁿ⁻¹ (jitter), never above the queue's 12 h maximum.
		const steps = [30, 120, 480, 1920, 7680, 30720, 43200];
		expect(delays).toHaveLength(steps.length);
		delays.forEach((delay, i) => {
			const step = steps[i] as number;
			expect(delay).toBeGreaterThanOrEqual(step * 0.8);
			expect(delay).toBeLessThanOrEqual(Math.min(step * 1.2, 43200));
		});
		expect(received).toHaveLength(MAX_DELIVERY_ATTEMPTS);
		// The same webhook-id on every attempt, so the receiver can deduplicate.
		expect(new Set(received.map((request) => request.headers["webhook-id"])).size).toBe(1);

		// The queue gives up after max_retries: the message lands in the DLQ, whose consumer records the verdict.
		const dlq = await deadLetter([id]);
		expect(dlq.ackAll).toBe(true);
		expect(await delivery(id)).toMatchObject({
			status: "dead",
			last_error: "HTTP 500: database is down retry later",
		});
		// A late redelivery of a dead delivery POSTs nothing.
		await deliverWebhooks([id]);
		expect(received).toHaveLength(MAX_DELIVERY_ATTEMPTS);
	});

	it("spreads the retries of deliveries that failed together (jitter), each within ±20 % of its step", async () => {
		const hooks = [
			await registerWebhook(admin.token, ["restock.created"], "https://down-a.example/hooks"),
			await registerWebhook(admin.token, ["restock.created"], "https://down-b.example/hooks"),
		];
		// Each endpoint's in-flight cap: all of them are attempted in this one batch.
		const ids = [
			...(await seedDeliveries(hooks[0]?.id as number, MAX_IN_FLIGHT_PER_ENDPOINT)),
			...(await seedDeliveries(hooks[1]?.id as number, MAX_IN_FLIGHT_PER_ENDPOINT)),
		];
		receiver(() => new Response("down", { status: 503 }));
		// The draws, fixed: 0, 0.1, …, 0.9 — whatever order the consumer makes them in.
		let draw = 0;
		vi.spyOn(Math, "random").mockImplementation(() => (draw++ % 10) / 10);

		const { result, retryDelays } = await deliverWebhooks(ids);
		expect(result.retryMessages).toHaveLength(ids.length);
		expect(retryDelays).toHaveLength(ids.length);
		for (const delay of retryDelays) {
			expect(delay).toBeGreaterThanOrEqual(24);
			expect(delay).toBeLessThanOrEqual(36);
		}
		// Without jitter they would all be 30 s, and come back at once.
		expect([...retryDelays].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
			24, 25, 26, 28, 29, 30, 31, 32, 34, 35,
		]);
	});

	it("fails on a timeout (no answer within the limit) and is retried", async () => {
		await registerWebhook(admin.token, ["restock.created"]);
		const queue = captureWebhookQueue();
		await restockWithReaders(0);
		const [id] = (await queued(queue, 1)) as [number];
		const hanging = vi.spyOn(globalThis, "fetch").mockImplementation(
			(_input, init) =>
				new Promise((_resolve, reject) => {
					init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
				}),
		);
		const { result, retryDelays } = await deliverWebhooks([id], { timeoutMs: 50 });
		expect(hanging).toHaveBeenCalledTimes(1);
		expect(result.retryMessages).toHaveLength(1);
		expect(retryDelays).toHaveLength(1);
		expect(retryDelays[0]).toBeGreaterThanOrEqual(24); // 30 s ± 20 %
		expect(retryDelays[0]).toBeLessThanOrEqual(36);
		expect(await delivery(id)).toMatchObject({
			status: "failed",
			last_status_code: null,
			last_error: "timeout: no answer within 0.05 s",
		});
	});

	it("gives every POST a 10 s deadline and never follows a redirect (a 3xx is a failure)", async () => {
		await registerWebhook(admin.token, ["restock.created"]);
		const queue = captureWebhookQueue();
		await restockWithReaders(0);
		const [id] = (await queued(queue, 1)) as [number];
		const { received, fetchSpy } = receiver(
			() => new Response(null, { status: 302, headers: { Location: "https://elsewhere.example/steal" } }),
		);
		const { result } = await deliverWebhooks([id]);
		expect(result.retryMessages).toHaveLength(1);
		expect(fetchSpy).toHaveBeenCalledTimes(1);
		expect(received[0]?.url).toBe(RECEIVER_URL);
		expect(received[0]?.init.redirect).toBe("manual");
		expect(received[0]?.init.signal).toBeInstanceOf(AbortSignal);
		expect(await delivery(id)).toMatchObject({
			status: "failed",
			last_status_code: 302,
			last_error: "redirect (302) not followed",
		});
	});

	it("is POSTed once: a redelivered message of a succeeded delivery is acknowledged without a POST", async () => {
		await registerWebhook(admin.token, ["restock.created"]);
		const queue = captureWebhookQueue();
		await restockWithReaders(0);
		const [id] = (await queued(queue, 1)) as [number];
		const { received } = receiver();
		await deliverWebhooks([id]);
		const again = await deliverWebhooks([id, id], { attempts: 2 });
		expect(again.result.explicitAcks).toHaveLength(2);
		expect(again.result.retryMessages).toHaveLength(0);
		expect(received).toHaveLength(1);
		expect(await delivery(id)).toMatchObject({ status: "succeeded", attempts: 1 });
	});

	it("can be retried by an admin once dead: it is revived, enqueued and then delivered with the same webhook-id", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const queue = captureWebhookQueue();
		await restockWithReaders(0);
		const [id] = (await queued(queue, 1)) as [number];
		const failing = receiver(new Response("nope", { status: 503 }));
		await deliverWebhooks([id]);
		await deadLetter([id]);
		expect((await delivery(id)).status).toBe("dead");
		failing.fetchSpy.mockRestore();

		const retry = await api("POST", `/admin/webhooks/${hook.id}/deliveries/${id}/retry`, {
			token: admin.token,
		});
		expect(retry.status).toBe(202);
		expect(retry.body).toMatchObject({ id, status: "pending", attempts: 0 });
		expect(queue.ids().filter((queuedId) => queuedId === id)).toHaveLength(2);

		const { received } = receiver();
		await deliverWebhooks([id]);
		expect(await delivery(id)).toMatchObject({ status: "succeeded", attempts: 1 });
		expect(received[0]?.headers["webhook-id"]).toBe(failing.received[0]?.headers["webhook-id"]);

		const again = await api("POST", `/admin/webhooks/${hook.id}/deliveries/${id}/retry`, {
			token: admin.token,
		});
		expect(again.status).toBe(409);
		expect(again.body.code).toBe("WEBHOOK_DELIVERY_SUCCEEDED");
	});
});

describe("secret rotation", () => {
	it("a double-submitted rotation keeps the receiver's secret; never more than three secrets sign", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const secrets = [hook.secret as string];
		const rotate = async () => {
			const rotated = await api("POST", `/admin/webhooks/${hook.id}/rotate-secret`, { token: admin.token });
			expect(rotated.status).toBe(200);
			secrets.push(rotated.body.secret);
		};
		const queue = captureWebhookQueue();
		const { received } = receiver();
		const deliverOne = async (n: number) => {
			await restockWithReaders(0);
			const ids = (await queued(queue, n)) as number[];
			await deliverWebhooks([ids[n - 1] as number]);
			return received[n - 1] as (typeof received)[number];
		};
		const verifies = (secret: string, delivery: (typeof received)[number]) => {
			try {
				new Webhook(secret).verify(delivery.body, delivery.headers);
				return true;
			} catch {
				return false;
			}
		};

		await rotate();
		await rotate(); // the same click twice: the receiver still has only the original secret
		const afterTwo = await deliverOne(1);
		expect(afterTwo.headers["webhook-signature"]?.split(" ")).toHaveLength(3);
		expect(secrets.map((secret) => verifies(secret, afterTwo))).toEqual([true, true, true]);

		await rotate();
		const afterThree = await deliverOne(2);
		expect(afterThree.headers["webhook-signature"]?.split(" ")).toHaveLength(3);
		expect(secrets.map((secret) => verifies(secret, afterThree))).toEqual([false, true, true, true]);
	});

	it("signs with both secrets for 24 h (each verifies), then with the new one only", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const rotated = await api("POST", `/admin/webhooks/${hook.id}/rotate-secret`, { token: admin.token });
		expect(rotated.status).toBe(200);
		const newSecret: string = rotated.body.secret;
		expect(newSecret).not.toBe(hook.secret);
		const graceMs = Date.parse(rotated.body.previous_secret_expires_at) - Date.now();
		expect(graceMs).toBeGreaterThan(24 * 3600_000 - 60_000);
		expect(graceMs).toBeLessThanOrEqual(24 * 3600_000);

		const queue = captureWebhookQueue();
		await restockWithReaders(0);
		const [first] = (await queued(queue, 1)) as [number];
		const { received } = receiver();
		await deliverWebhooks([first]);
		const during = received[0] as (typeof received)[number];
		expect(during.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
		expect(new Webhook(hook.secret).verify(during.body, during.headers)).toMatchObject({
			type: "restock.created",
		});
		expect(new Webhook(newSecret).verify(during.body, during.headers)).toMatchObject({
			type: "restock.created",
		});

		// 24 h later: the old secret has expired.
		await env.DB.prepare(
			"UPDATE webhook_secrets SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 second') WHERE endpoint_id = ? AND expires_at IS NOT NULL",
		)
			.bind(hook.id)
			.run();
		await restockWithReaders(0);
		const [, second] = (await queued(queue, 2)) as [number, number];
		await deliverWebhooks([second]);
		const after = received[1] as (typeof received)[number];
		expect(after.headers["webhook-signature"]?.split(" ")).toHaveLength(1);
		expect(new Webhook(newSecret).verify(after.body, after.headers)).toMatchObject({
			type: "restock.created",
		});
		expect(() => new Webhook(hook.secret).verify(after.body, after.headers)).toThrow(/signature/i);
	});
});

describe("the in-flight cap per endpoint", () => {
	it(`POSTs at most ${MAX_IN_FLIGHT_PER_ENDPOINT} deliveries of one endpoint at once; the rest wait their turn without spending retries, while other endpoints are served`, async () => {
		const slow = await registerWebhook(admin.token, ["restock.created"], "https://slow.example/hooks");
		const other = await registerWebhook(admin.token, ["restock.created"], "https://other.example/hooks");
		const slowIds = await seedDeliveries(slow.id, 8);
		const [otherId] = (await seedDeliveries(other.id, 1)) as [number];
		const queue = captureWebhookQueue();
		const { received } = receiver();

		const { result, retryDelays } = await deliverWebhooks([...slowIds, otherId]);
		const hosts = received.map((request) => new URL(request.url).host);
		expect(hosts.filter((host) => host === "slow.example")).toHaveLength(MAX_IN_FLIGHT_PER_ENDPOINT);
		expect(hosts.filter((host) => host === "other.example")).toHaveLength(1);
		// The 3 over the cap are put back on the queue as new messages, with a delay: no retry is spent.
		expect(retryDelays).toEqual([]);
		expect(result.explicitAcks).toHaveLength(9);
		expect(queue.ids()).toEqual(slowIds.slice(MAX_IN_FLIGHT_PER_ENDPOINT));
		for (const delay of queue.delays()) expect(delay).toBeGreaterThanOrEqual(15);
		for (const id of slowIds.slice(MAX_IN_FLIGHT_PER_ENDPOINT)) {
			expect(await delivery(id)).toMatchObject({ status: "pending", attempts: 0 });
		}
	});

	it("counts deliveries in flight in other consumers (live claims), and frees a claim abandoned past its lease", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"], "https://busy.example/hooks");
		const ids = await seedDeliveries(hook.id, MAX_IN_FLIGHT_PER_ENDPOINT + 1);
		const inFlight = ids.slice(0, MAX_IN_FLIGHT_PER_ENDPOINT);
		const waiting = ids.at(-1) as number;
		await env.DB.prepare(
			`UPDATE webhook_deliveries SET claimed_until = ?, attempts = 1 WHERE id IN (${inFlight.join(",")})`,
		)
			.bind(new Date(Date.now() + CLAIM_LEASE_MS).toISOString())
			.run();
		captureWebhookQueue();
		const { received } = receiver();
		await deliverWebhooks([waiting]);
		expect(received).toHaveLength(0);

		// The consumers holding those claims died: once the lease has passed, the deliveries are free again.
		const later = new Date(Date.now() + CLAIM_LEASE_MS + 1000);
		await deliverWebhooks([waiting, ...inFlight.slice(0, 2)], { now: later });
		expect(received).toHaveLength(3);
	});
});

describe("the outbox", () => {
	it("a restock whose queue publications both fail still gets its webhook events delivered, by the relay", async () => {
		await registerWebhook(admin.token, ["restock.created", "prebook.notified"]);
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const reader = await createUser();
		await api("POST", "/prebooks", { token: reader.token, body: { book_id: book.id } });
		vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockRejectedValue(new Error("queue unavailable"));
		const refused = vi
			.spyOn(env.WEBHOOK_QUEUE, "sendBatch")
			.mockRejectedValue(new Error("queue unavailable"));
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const res = await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		expect(res.status).toBe(200);
		await vi.waitFor(() => expect(refused).toHaveBeenCalled());
		await vi.waitFor(() =>
			expect(errors.mock.calls.some(([line]) => String(line).includes("webhook_events_publish_failed"))).toBe(
				true,
			),
		);
		const restockId = (
			await env.DB.prepare("SELECT id FROM restocks WHERE book_id = ?").bind(book.id).first<{ id: number }>()
		)?.id;
		const born = [
			...(await eventsOf("restock.created", "json_extract(payload, '$.restock_id') = ?", restockId)),
			...(await eventsOf("prebook.notified", "json_extract(payload, '$.restock_id') = ?", restockId)),
		];
		expect(born).toHaveLength(2);
		for (const event of born) expect(event.published_at).toBeNull();
		refused.mockRestore();

		const queue = captureWebhookQueue();
		await runCron(Date.now() + 2 * 60_000);
		const ids = queue.ids();
		expect(ids).toHaveLength(2);
		const { received } = receiver();
		await deliverWebhooks(ids);
		expect(received.map((request) => JSON.parse(request.body).type).sort()).toEqual([
			"prebook.notified",
			"restock.created",
		]);
		for (const event of [
			...(await eventsOf("restock.created", "json_extract(payload, '$.restock_id') = ?", restockId)),
		]) {
			expect(event.published_at).toMatch(/Z$/);
		}
		// Published once: the next run republishes nothing.
		await runCron(Date.now() + 3 * 60_000);
		expect(queue.ids()).toHaveLength(2);
	});

	it("a disabled endpoint gets no new deliveries, and its queued ones are recorded dead (retryable)", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const [queuedId] = (await seedDeliveries(hook.id, 1)) as [number];
		expect(
			(await api("PATCH", `/admin/webhooks/${hook.id}`, { token: admin.token, body: { enabled: false } }))
				.body.enabled,
		).toBe(false);
		captureWebhookQueue();
		const { received } = receiver();
		await deliverWebhooks([queuedId]);
		expect(received).toHaveLength(0);
		expect(await delivery(queuedId)).toMatchObject({ status: "dead", last_error: "endpoint disabled" });
		// Every event is recorded (the feed), but one no enabled endpoint subscribes to is born published:
		// a restock now queues nothing for the disabled endpoint.
		const { book } = await restockWithReaders(0);
		const [restocked] = await eventsOf("restock.created", "json_extract(payload, '$.book_id') = ?", book.id);
		expect(restocked?.published_at).toMatch(/Z$/);
		const deliveries = await env.DB.prepare(
			"SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ?",
		)
			.bind(hook.id)
			.first<{ n: number }>();
		expect(deliveries?.n).toBe(1);
	});
});
