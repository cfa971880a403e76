import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
	afterHoldOf,
	api,
	createAdmin,
	createBook,
	createUser,
	prebookAll,
	runCron,
	type TestUser,
} from "./helpers";
import { captureWebhookQueue, type Schema, schemaProblems } from "./webhooks-helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});
beforeEach(() => {
	captureWebhookQueue();
	vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
});
afterEach(() => {
	vi.restoreAllMocks();
});

/** The newest seq so far: each test reads the feed after it, so it sees only its own events. */
async function lastSeq(): Promise<number> {
	const row = await env.DB.prepare("SELECT coalesce(max(id), 0) AS seq FROM webhook_events").first<{
		seq: number;
	}>();
	return row?.seq ?? 0;
}

const feed = (query: string) => api("GET", `/admin/events?${query}`, { token: admin.token });

/** A notify_all book restocked for two waiting readers: restock.created and prebook.notified. */
async function restockWithReaders() {
	const book = await createBook(admin.token, { stock_quantity: 0 });
	const readers = [await createUser(), await createUser()];
	await prebookAll(readers, book.id);
	const res = await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
	expect(res.status).toBe(200);
	return { book, readers };
}

describe("GET /admin/events", () => {
	it("returns a restock's events in seq order, without any webhook endpoint, and resumes after a cursor", async () => {
		const start = await lastSeq();
		const { book, readers } = await restockWithReaders();
		const all = await feed(`after=${start}`);
		expect(all.status).toBe(200);
		expect(all.body.items.map((item: { type: string }) => item.type).sort()).toEqual([
			"prebook.notified",
			"restock.created",
		]);
		const seqs = all.body.items.map((item: { seq: number }) => item.seq);
		expect(seqs[1]).toBeGreaterThan(seqs[0]);
		const [firstEvent, secondEvent] = all.body.items;
		const restocked = all.body.items.find((item: { type: string }) => item.type === "restock.created");
		const notified = all.body.items.find((item: { type: string }) => item.type === "prebook.notified");
		expect(restocked).toMatchObject({
			id: `evt_${restocked.seq}`,
			data: { book_id: book.id, quantity_before: 0, quantity_after: 2, notified_count: 2 },
		});
		expect(restocked.occurred_at).toMatch(/Z$/);
		expect([...notified.data.user_ids].sort()).toEqual(readers.map((reader) => reader.id).sort());
		expect(all.body.next_cursor).toBeNull();

		// One at a time: each page's next_cursor is the `after` of the next.
		const first = await feed(`after=${start}&limit=1`);
		expect(first.body.items).toEqual([firstEvent]);
		expect(first.body.next_cursor).toBe(String(firstEvent.seq));
		const second = await feed(`after=${first.body.next_cursor}&limit=1`);
		expect(second.body.items).toEqual([secondEvent]);
		// The name every other list takes works too: a generic pager (`cursor=<next_cursor>`) pages the feed.
		expect((await feed(`cursor=${first.body.next_cursor}&limit=1`)).body).toEqual(second.body);
		expect((await feed(`after=${start}&cursor=${start}&limit=1`)).body).toEqual(first.body);

		// A later event continues the sequence after the last one seen.
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 3 } });
		const later = await feed(`after=${secondEvent.seq}`);
		expect(later.body.items.map((item: { type: string }) => item.type)).toEqual(["restock.created"]);
		expect(later.body.items[0].seq).toBeGreaterThan(secondEvent.seq);
	});

	it("filters by type, with groups such as prebook.*", async () => {
		const start = await lastSeq();
		await restockWithReaders();
		const prebookEvents = await feed(`after=${start}&types=prebook.*`);
		expect(prebookEvents.status).toBe(200);
		expect(prebookEvents.body.items.map((item: { type: string }) => item.type)).toEqual(["prebook.notified"]);
		const both = await feed(`after=${start}&types=restock.created,prebook.*`);
		expect(both.body.items).toHaveLength(2);
		const none = await feed(`after=${start}&types=prebook.expired,draw.closed`);
		expect(none.body.items).toEqual([]);
	});

	it("refuses an unknown type or group, and an after or limit out of range (422, the contract's envelope)", async () => {
		for (const [query, field] of [
			["types=prebook.nope", "types"],
			["types=order.*", "types"],
			["types=prebook.*,", "types"],
			["after=-1", "after"],
			["after=abc", "after"],
			["cursor=abc", "cursor"],
			[`after=1&cursor=2`, "cursor"],
			["limit=0", "limit"],
			["limit=101", "limit"],
		] as const) {
			const res = await feed(query);
			expect(res.status, query).toBe(422);
			expect(res.body).toMatchObject({ code: "VALIDATION_ERROR", field });
			expect(res.body.detail).toEqual(expect.any(String));
		}
	});

	it("is admin-only", async () => {
		const reader = await createUser();
		const res = await api("GET", "/admin/events", { token: reader.token });
		expect(res.status).toBe(403);
		expect(res.body.code).toBe("AUTH_FORBIDDEN");
		expect((await api("GET", "/admin/events")).status).toBe(401);
	});

	it("keeps events 30 days: older ones are left out at once and purged by the cron", async () => {
		const start = await lastSeq();
		const at = (days: number) => `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-${days} days')`;
		for (const days of [31, 29]) {
			await env.DB.prepare(
				`INSERT INTO webhook_events (type, payload, source_key, created_at, published_at)
				 VALUES ('restock.created', ?, ?, ${at(days)}, ${at(days)})`,
			)
				.bind(JSON.stringify({ days }), `feed-retention:${crypto.randomUUID()}`)
				.run();
		}
		await restockWithReaders();
		const before = await feed(`after=${start}&types=restock.created`);
		expect(before.body.items.map((item: { data: { days?: number } }) => item.data.days)).toEqual([
			29,
			undefined,
		]);
		await runCron(Date.now());
		const left = await env.DB.prepare(
			"SELECT json_extract(payload, '$.days') AS days FROM webhook_events WHERE id > ? ORDER BY id",
		)
			.bind(start)
			.all<{ days: number | null }>();
		expect(left.results.map((row) => row.days)).toEqual([29, null, null]);
		expect((await feed(`after=${start}&types=restock.created`)).body).toEqual(before.body);
	});
});

describe("GET /admin/webhooks/event-types", () => {
	/** The document's schema with its `$ref`s resolved, to compare with the route's standalone ones. */
	function resolve(node: unknown, components: Record<string, unknown>): unknown {
		if (Array.isArray(node)) return node.map((item) => resolve(item, components));
		if (node === null || typeof node !== "object") return node;
		const ref = (node as { $ref?: string }).$ref;
		if (ref) return resolve(components[ref.split("/").at(-1) as string], components);
		return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolve(value, components)]));
	}

	it("lists every type with the JSON Schema of its data, the same as the OpenAPI document's webhooks", async () => {
		const res = await api("GET", "/admin/webhooks/event-types", { token: admin.token });
		expect(res.status).toBe(200);
		const document = (await api("GET", "/openapi.json")).body;
		const documented = Object.keys(document.webhooks).sort();
		expect(res.body.items.map((item: { type: string }) => item.type).sort()).toEqual(documented);
		for (const item of res.body.items as { type: string; description: string; schema: Schema }[]) {
			const envelope = resolve(
				document.webhooks[item.type].post.requestBody.content["application/json"].schema,
				document.components.schemas,
			) as { properties: { data: Schema } };
			expect(item.schema, item.type).toEqual(envelope.properties.data);
			expect(item.description).toBe(document.webhooks[item.type].post.summary);
			expect(item.schema).toMatchObject({ type: "object", required: expect.any(Array) });
		}
	});

	it("validates the real payloads of the feed, and refuses a payload that breaks a schema", async () => {
		const start = await lastSeq();
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const readers = [await createUser(), await createUser()];
		const [first] = await prebookAll(readers, book.id);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		await runCron(await afterHoldOf(first as number));
		await restockWithReaders();
		const { items } = (await api("GET", "/admin/webhooks/event-types", { token: admin.token })).body;
		const schemas = new Map(
			(items as { type: string; schema: Schema }[]).map((item) => [item.type, item.schema]),
		);
		const events = (await feed(`after=${start}`)).body.items as { type: string; data: unknown }[];
		expect(new Set(events.map((event) => event.type))).toEqual(
			new Set(["prebook.offered", "prebook.expired", "restock.created", "prebook.notified"]),
		);
		for (const event of events) {
			expect(schemaProblems(schemas.get(event.type) as Schema, event.data), event.type).toEqual([]);
		}
		const restocked = events.find((event) => event.type === "restock.created") as { data: object };
		const broken = { ...restocked.data, book_id: "7", created_at: "yesterday" };
		expect(schemaProblems(schemas.get("restock.created") as Schema, broken)).toEqual([
			"$.book_id: not integer",
			"$.created_at: not date-time",
		]);
		const { notified_count: _, ...missing } = restocked.data as Record<string, unknown>;
		expect(schemaProblems(schemas.get("restock.created") as Schema, missing)).toEqual([
			"$.notified_count: required",
		]);
	});

	it("is admin-only", async () => {
		const reader = await createUser();
		expect((await api("GET", "/admin/webhooks/event-types", { token: reader.token })).status).toBe(403);
	});
});
