/**
 * The admin side of webhooks (API.md, "Webhooks (for integrators)"): registration and its URL rules, the
 * secret shown once, changes, deletion, rotation, the delivery log in keyset pages, retries, and access.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { app } from "../src/app";
import { webhookRetryDelaySeconds } from "../src/features/webhooks/webhook-consumer";
import { isPublicHost, webhookUrlProblem } from "../src/lib/public-url";
import { api, createAdmin, createUser, expectError, type TestUser } from "./helpers";
import { RECEIVER_URL, registerWebhook, seedDeliveries } from "./webhooks-helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});
afterEach(() => {
	vi.restoreAllMocks();
});

const create = (body: unknown, token = admin.token) => api("POST", "/admin/webhooks", { token, body });

/** The same request against a deployment with `ENVIRONMENT=production` (its own parsed configuration). */
async function createInProduction(url: string) {
	const res = await app.request(
		"/admin/webhooks",
		{
			method: "POST",
			headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
			body: JSON.stringify({ url, events: ["restock.created"] }),
		},
		// A production configuration: the development values are refused there (src/lib/config.ts).
		{
			...env,
			ENVIRONMENT: "production",
			APP_URL: "https://shop.example.com",
			API_URL: "https://api.shop.example.com",
			CORS_ORIGINS: "https://shop.example.com",
			ADMIN_EMAILS: "owner@shop.example.com",
			MAIL_FROM: "Bookstore <notifications@shop.example.com>",
		},
	);
	return { status: res.status, body: (await res.json()) as any };
}

describe("registering an endpoint", () => {
	it("answers 201 with the endpoint and its whsec_ secret, which no later answer shows", async () => {
		const res = await create({
			url: "https://Integrator.example/hooks?source=bookstore",
			events: ["prebook.offered", "restock.created", "prebook.offered"],
			description: "Stock sync",
		});
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({
			url: "https://integrator.example/hooks?source=bookstore",
			// Each type once, in catalogue order.
			events: ["prebook.offered", "restock.created"],
			description: "Stock sync",
			enabled: true,
		});
		expect(res.body.created_at).toMatch(/Z$/);
		const secret: string = res.body.secret;
		expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
		expect(atob(secret.slice("whsec_".length))).toHaveLength(32);

		const one = await api("GET", `/admin/webhooks/${res.body.id}`, { token: admin.token });
		expect(one.status).toBe(200);
		expect(one.body).not.toHaveProperty("secret");
		const all = await api("GET", "/admin/webhooks", { token: admin.token });
		expect(JSON.stringify(all.body)).not.toContain(secret.slice(6));
		expect(all.body.items.map((item: any) => item.id)).toContain(res.body.id);
	});

	it("refuses a URL that is not https (422 on url), except plain http to this machine outside production", async () => {
		for (const url of [
			"http://integrator.example/hooks",
			"ftp://integrator.example/hooks",
			"not a url",
			"/relative/path",
			"https://user:password@integrator.example/hooks",
			"javascript:alert(1)",
			`https://integrator.example/${"a".repeat(2048)}`,
		]) {
			const res = await create({ url, events: ["restock.created"] });
			expectError(res, 422, "VALIDATION_ERROR", "url");
		}
		for (const url of ["http://localhost:3000/hooks", "http://127.0.0.1:9000/", "http://[::1]:8080/in"]) {
			const res = await create({ url, events: ["restock.created"] });
			expect(res.status, url).toBe(201);
		}
	});

	it("refuses unknown or missing event types (422 on events)", async () => {
		expectError(await create({ url: RECEIVER_URL, events: [] }), 422, "VALIDATION_ERROR", "events");
		expectError(
			await create({ url: RECEIVER_URL, events: ["order.created"] }),
			422,
			"VALIDATION_ERROR",
			"events.0",
		);
		expectError(await create({ url: RECEIVER_URL }), 422, "VALIDATION_ERROR", "events");
		expectError(
			await create({ url: RECEIVER_URL, events: ["restock.created"], description: "x".repeat(501) }),
			422,
			"VALIDATION_ERROR",
			"description",
		);
	});

	it("in production, refuses plain http and hosts that are not on the public internet", async () => {
		for (const url of [
			"http://localhost:3000/hooks",
			"https://localhost/hooks",
			"https://api.localhost/hooks",
			"https://127.0.0.1/hooks",
			"https://0x7f.1/hooks",
			"https://2130706433/hooks",
			"https://10.1.2.3/hooks",
			"https://172.20.0.5/hooks",
			"https://192.168.1.10/hooks",
			"https://169.254.169.254/latest/meta-data",
			"https://100.64.0.1/hooks",
			"https://0.0.0.0/hooks",
			"https://[::1]/hooks",
			"https://[::]/hooks",
			"https://[fd00::1]/hooks",
			"https://[fe80::1]/hooks",
			"https://[::ffff:127.0.0.1]/hooks",
			"https://[::ffff:10.0.0.1]/hooks",
			"https://printer.local/hooks",
			"https://intranet/hooks",
			"http://integrator.example/hooks",
		]) {
			const res = await createInProduction(url);
			expect({ url, status: res.status, code: res.body.code, field: res.body.field }).toEqual({
				url,
				status: 422,
				code: "VALIDATION_ERROR",
				field: "url",
			});
		}
		for (const url of [
			"https://integrator.example/hooks",
			"https://93.184.216.34/hooks",
			"https://[2606:4700::1111]/",
		]) {
			expect((await createInProduction(url)).status, url).toBe(201);
		}
	});

	it("classifies hosts without DNS: IP literals by range, names by local-only suffixes", () => {
		expect(isPublicHost("8.8.8.8")).toBe(true);
		expect(isPublicHost("172.32.0.1")).toBe(true);
		expect(isPublicHost("172.31.255.255")).toBe(false);
		expect(isPublicHost("198.51.100.7")).toBe(false);
		expect(isPublicHost("224.0.0.1")).toBe(false);
		expect(isPublicHost("255.255.255.255")).toBe(false);
		expect(isPublicHost("[2001:db8::1]")).toBe(false);
		expect(isPublicHost("[2002:a00:1::]")).toBe(false);
		expect(isPublicHost("[ff02::1]")).toBe(false);
		expect(isPublicHost("[2a00:1450:4001:80b::200e]")).toBe(true);
		expect(isPublicHost("hooks.example.com")).toBe(true);
		expect(isPublicHost("service.internal")).toBe(false);
		expect(isPublicHost("router.home.arpa")).toBe(false);
		expect(webhookUrlProblem("https://hooks.example.com/x", { production: true })).toBeNull();
	});
});

describe("changing an endpoint", () => {
	it("updates url, events, description and enabled; refuses a bad URL; 404 for an unknown id", async () => {
		const { id } = await registerWebhook(admin.token, ["restock.created"]);
		const res = await api("PATCH", `/admin/webhooks/${id}`, {
			token: admin.token,
			body: {
				url: "https://new.example/in",
				events: ["prebook.expired"],
				description: "New",
				enabled: false,
			},
		});
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({
			id,
			url: "https://new.example/in",
			events: ["prebook.expired"],
			description: "New",
			enabled: false,
		});
		expect(res.body).not.toHaveProperty("secret");
		const cleared = await api("PATCH", `/admin/webhooks/${id}`, {
			token: admin.token,
			body: { description: null },
		});
		expect(cleared.body.description).toBeNull();
		expectError(
			await api("PATCH", `/admin/webhooks/${id}`, {
				token: admin.token,
				body: { url: "http://new.example/in" },
			}),
			422,
			"VALIDATION_ERROR",
			"url",
		);
		expectError(
			await api("PATCH", "/admin/webhooks/999999", { token: admin.token, body: { enabled: true } }),
			404,
			"WEBHOOK_NOT_FOUND",
		);
	});

	it("deletes an endpoint with its secrets and deliveries (204, then 404)", async () => {
		const { id } = await registerWebhook(admin.token, ["restock.created"]);
		await seedDeliveries(id, 2);
		expect((await api("DELETE", `/admin/webhooks/${id}`, { token: admin.token })).status).toBe(204);
		expectError(await api("GET", `/admin/webhooks/${id}`, { token: admin.token }), 404, "WEBHOOK_NOT_FOUND");
		expectError(
			await api("DELETE", `/admin/webhooks/${id}`, { token: admin.token }),
			404,
			"WEBHOOK_NOT_FOUND",
		);
		const left = await env.DB.prepare(
			"SELECT (SELECT count(*) FROM webhook_secrets WHERE endpoint_id = ?1) + (SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?1) AS n",
		)
			.bind(id)
			.first<{ n: number }>();
		expect(left?.n).toBe(0);
	});

	it("rotates the secret: a new one, shown once; the old one keeps signing for 24 h", async () => {
		const { id, secret } = await registerWebhook(admin.token, ["restock.created"]);
		const res = await api("POST", `/admin/webhooks/${id}/rotate-secret`, { token: admin.token });
		expect(res.status).toBe(200);
		expect(res.body.secret).toMatch(/^whsec_/);
		expect(res.body.secret).not.toBe(secret);
		const { results } = await env.DB.prepare(
			"SELECT secret, expires_at FROM webhook_secrets WHERE endpoint_id = ? ORDER BY id",
		)
			.bind(id)
			.all<{ secret: string; expires_at: string | null }>();
		expect(results).toEqual([
			{ secret, expires_at: res.body.previous_secret_expires_at },
			{ secret: res.body.secret, expires_at: null },
		]);
		expectError(
			await api("POST", "/admin/webhooks/999999/rotate-secret", { token: admin.token }),
			404,
			"WEBHOOK_NOT_FOUND",
		);
	});
});

describe("the delivery log", () => {
	it("lists an endpoint's deliveries newest first in keyset pages, filtered by status", async () => {
		const { id } = await registerWebhook(admin.token, ["restock.created"]);
		const ids = await seedDeliveries(id, 5);
		await env.DB.prepare(
			`UPDATE webhook_deliveries SET status = 'dead' WHERE id IN (${ids[1]}, ${ids[3]})`,
		).run();
		const seen: number[] = [];
		let cursor: string | null = null;
		do {
			const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
			const page = await api("GET", `/admin/webhooks/${id}/deliveries?limit=2${query}`, {
				token: admin.token,
			});
			expect(page.status).toBe(200);
			expect(page.body.items.length).toBeLessThanOrEqual(2);
			for (const item of page.body.items) {
				expect(item).toMatchObject({ event_type: "restock.created", attempts: 0, last_status_code: null });
				expect(item.event_id).toMatch(/^evt_\d+$/);
			}
			seen.push(...page.body.items.map((item: any) => item.id));
			cursor = page.body.next_cursor;
		} while (cursor);
		expect(seen).toEqual([...ids].reverse());

		const dead = await api("GET", `/admin/webhooks/${id}/deliveries?status=dead`, { token: admin.token });
		expect(dead.body.items.map((item: any) => item.id)).toEqual([ids[3], ids[1]]);
		expectError(
			await api("GET", `/admin/webhooks/${id}/deliveries?status=lost`, { token: admin.token }),
			422,
			"VALIDATION_ERROR",
			"status",
		);
		expectError(
			await api("GET", "/admin/webhooks/999999/deliveries", { token: admin.token }),
			404,
			"WEBHOOK_NOT_FOUND",
		);
	});

	it("retries only a delivery of that endpoint (404 otherwise)", async () => {
		const first = await registerWebhook(admin.token, ["restock.created"]);
		const second = await registerWebhook(admin.token, ["restock.created"]);
		const [delivery] = (await seedDeliveries(first.id, 1)) as [number];
		expectError(
			await api("POST", `/admin/webhooks/${second.id}/deliveries/${delivery}/retry`, { token: admin.token }),
			404,
			"WEBHOOK_DELIVERY_NOT_FOUND",
		);
		expectError(
			await api("POST", `/admin/webhooks/999999/deliveries/${delivery}/retry`, { token: admin.token }),
			404,
			"WEBHOOK_NOT_FOUND",
		);
	});

	it("backs off exponentially between attempts, ±20 % of jitter, within the queue's 12 h maximum", () => {
		const attempts = [1, 2, 3, 4, 5, 6, 7, 8];
		const delays = (random: number) =>
			attempts.map((attempt) => webhookRetryDelaySeconds(attempt, () => random));
		// The middle of each step is the documented schedule; the ends are 80 % and 120 % of it, never past 12 h.
		expect(delays(0.5).slice(0, 6)).toEqual([30, 120, 480, 1920, 7680, 30720]);
		expect(delays(0)).toEqual([24, 96, 384, 1536, 6144, 24576, 34560, 34560]);
		expect(delays(0.999_999)).toEqual([36, 144, 576, 2304, 9216, 36864, 43200, 43200]);
	});
});

describe("access", () => {
	it("is for admins only: 401 without a token, 403 for a user, on every webhook route", async () => {
		const user = await createUser();
		const { id } = await registerWebhook(admin.token, ["restock.created"]);
		const [delivery] = (await seedDeliveries(id, 1)) as [number];
		const routes: [string, string, unknown?][] = [
			["POST", "/admin/webhooks", { url: RECEIVER_URL, events: ["restock.created"] }],
			["GET", "/admin/webhooks"],
			["GET", `/admin/webhooks/${id}`],
			["PATCH", `/admin/webhooks/${id}`, { enabled: false }],
			["DELETE", `/admin/webhooks/${id}`],
			["POST", `/admin/webhooks/${id}/rotate-secret`],
			["GET", `/admin/webhooks/${id}/deliveries`],
			["POST", `/admin/webhooks/${id}/deliveries/${delivery}/retry`],
		];
		for (const [method, path, body] of routes) {
			expectError(await api(method, path, { body }), 401, "AUTH_REQUIRED");
			expectError(await api(method, path, { token: user.token, body }), 403, "AUTH_FORBIDDEN");
		}
		expect((await api("GET", `/admin/webhooks/${id}`, { token: admin.token })).body.enabled).toBe(true);
	});
});

describe("the OpenAPI document", () => {
	it("describes every event's payload under `webhooks`, and the admin routes with their errors", async () => {
		const doc = (await api("GET", "/openapi.json")).body;
		expect(doc.openapi).toBe("3.1.0");
		expect(Object.keys(doc.webhooks).sort()).toEqual([
			"demand.threshold_crossed",
			"draw.closed",
			"prebook.expired",
			"prebook.fulfilled",
			"prebook.notified",
			"prebook.offered",
			"prebook.passed",
			"restock.created",
		]);
		const notified = doc.webhooks["prebook.notified"].post;
		const headers = notified.parameters.map((p: any) => `${p.in}:${p.name}`);
		expect(headers).toEqual(["header:webhook-id", "header:webhook-timestamp", "header:webhook-signature"]);
		const body = notified.requestBody.content["application/json"].schema;
		expect(body.properties.type).toMatchObject({ enum: ["prebook.notified"] });
		expect(body.properties.data.$ref).toBe("#/components/schemas/WebhookPrebookNotified");
		expect(Object.keys(doc.components.schemas.WebhookPrebookNotified.properties)).toEqual([
			"book_id",
			"restock_id",
			"notified_at",
			"user_ids",
			"prebook_ids",
		]);
		for (const path of [
			"/admin/webhooks",
			"/admin/webhooks/{id}",
			"/admin/webhooks/{id}/rotate-secret",
			"/admin/webhooks/{id}/deliveries",
			"/admin/webhooks/{id}/deliveries/{delivery_id}/retry",
		]) {
			expect(doc.paths[path], path).toBeDefined();
		}
		expect(doc.paths["/admin/webhooks/{id}"].get.responses["404"].description).toContain("WEBHOOK_NOT_FOUND");
		expect(doc.paths["/admin/webhooks/{id}/deliveries/{delivery_id}/retry"].post.responses).toHaveProperty(
			"202",
		);
	});
});
