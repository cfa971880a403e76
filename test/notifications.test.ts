import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createDb, newD1Usage } from "../src/lib/db";
import { type OutgoingEmail, parseSender } from "../src/lib/mailer";
import {
	deliverPrebookEmails,
	MAX_RETRY_DELAY_SECONDS,
	retryDelaySeconds,
} from "../src/prebook-emails/email-consumer";
import type { PrebookNotifiedMessage } from "../src/prebook-emails/messages";
import { restockEmail } from "../src/prebook-emails/templates";
import {
	api,
	bulkUsers,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	deliver,
	expectError,
	recordEmails,
	runCron,
	stubQueue,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

/**
 * Users pre-book a new out-of-stock book and the admin restocks it. The queue is stubbed: the messages
 * are captured here (or refused, with `publishFails`) and delivered by the test, never by a background
 * consumer.
 */
async function notifiedRestock(users: TestUser[], options: { publishFails?: boolean } = {}) {
	const book = await createBook(admin.token, {
		stock_quantity: 0,
		title: `Dune ${crypto.randomUUID().slice(0, 6)}`,
	});
	for (const user of users) {
		expect((await api("POST", "/prebooks", { token: user.token, body: { book_id: book.id } })).status).toBe(
			201,
		);
	}
	const queue = stubQueue();
	if (options.publishFails) queue.sendBatch.mockRejectedValueOnce(new Error("queue unavailable"));
	expect(
		(await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 3 } })).status,
	).toBe(200);
	const messages = queue.published();
	queue.clear();
	const restockId = (
		await env.DB.prepare("SELECT id FROM restocks WHERE book_id = ?").bind(book.id).first<{ id: number }>()
	)?.id as number;
	return { book, messages, restockId };
}

async function deliveryStatuses(restockId: number) {
	const { results } = await env.DB.prepare(
		"SELECT user_id, status, attempts FROM email_deliveries WHERE restock_id = ? ORDER BY user_id",
	)
		.bind(restockId)
		.all<{ user_id: number; status: string; attempts: number }>();
	return results;
}

async function restockView(restockId: number) {
	const res = await api("GET", "/admin/restocks?limit=100", { token: admin.token });
	expect(res.status).toBe(200);
	return res.body.items.find((item: { id: number }) => item.id === restockId);
}

describe("restock emails", () => {
	it("emails each still-notified active user once, naming the book, with a link to it", async () => {
		const [keen, cancelled, deactivated] = [await createUser(), await createUser(), await createUser()];
		const { book, messages, restockId } = await notifiedRestock([keen, cancelled, deactivated] as TestUser[]);
		const mine = await api("GET", "/prebooks?status=notified", { token: cancelled?.token });
		await api("DELETE", `/prebooks/${mine.body.items[0].id}`, { token: cancelled?.token });
		await api("PATCH", `/admin/users/${deactivated?.id}`, { token: admin.token, body: { is_active: false } });

		const emails = recordEmails();
		const { result, ids } = await deliver("prebook-notifications", messages);
		expect(result.explicitAcks).toEqual(ids);
		expect(emails).toHaveBeenCalledTimes(1);
		const sent = emails.mock.calls[0]?.[0] as {
			to: string;
			from: unknown;
			subject: string;
			text: string;
			html: string;
		};
		expect(sent.to).toBe(keen?.email);
		expect(sent.from).toEqual({ name: "Bookstore", email: "notifications@bookstore.example" });
		expect(sent.subject).toContain(book.title);
		// No storefront in development (APP_URL is the API): the link opens the API's page of the book.
		expect(sent.text).toContain(`http://localhost:8787/books/${book.id}/page`);
		expect(sent.text).toContain("12.50");
		expect(sent.html).toContain(`href="http://localhost:8787/books/${book.id}/page"`);
		expect(await deliveryStatuses(restockId)).toEqual([{ user_id: keen?.id, status: "sent", attempts: 1 }]);
		expect(await restockView(restockId)).toMatchObject({
			book_id: book.id,
			book_title: book.title,
			quantity_before: 0,
			quantity_after: 3,
			notified_count: 3,
			sent_count: 1,
			failed_count: 0,
			dead_count: 0,
		});
	});

	it("never emails anyone twice when the same message is delivered again", async () => {
		const users = [await createUser(), await createUser()];
		const { messages } = await notifiedRestock(users);
		const emails = recordEmails();
		await deliver("prebook-notifications", messages);
		await deliver("prebook-notifications", messages);
		await deliver("prebook-notifications", messages, 2);
		expect(emails).toHaveBeenCalledTimes(2);
		expect(emails.recipients().sort()).toEqual(users.map((u) => u.email).sort());
	});

	it("retries only the recipient whose send failed, with backoff", async () => {
		const [ok, flaky] = [await createUser(), await createUser()] as TestUser[];
		const { messages, restockId } = await notifiedRestock([ok, flaky] as TestUser[]);
		const failing = recordEmails([flaky?.email as string]);
		const first = await deliver("prebook-notifications", messages);
		expect(first.result.explicitAcks).toEqual([]);
		expect(first.result.retryMessages).toEqual([{ msgId: first.ids[0] }]);
		expect(first.retryDelays).toEqual([30]);
		expect(failing).toHaveBeenCalledTimes(2);
		expect((await restockView(restockId)).failed_count).toBe(1);

		const emails = recordEmails();
		const second = await deliver("prebook-notifications", messages, 2);
		expect(second.result.explicitAcks).toEqual(second.ids);
		expect(second.retryDelays).toEqual([]);
		expect(emails.recipients()).toEqual([flaky?.email]);
		expect(await deliveryStatuses(restockId)).toEqual(
			[
				{ user_id: ok?.id, status: "sent", attempts: 1 },
				{ user_id: flaky?.id, status: "sent", attempts: 2 },
			].sort((a, b) => (a.user_id ?? 0) - (b.user_id ?? 0)),
		);
	});

	it("doubles the retry delay per attempt, clamped to the 12-hour maximum", () => {
		expect([1, 2, 3, 4].map(retryDelaySeconds)).toEqual([30, 60, 120, 240]);
		expect(retryDelaySeconds(40)).toBe(MAX_RETRY_DELAY_SECONDS);
		expect(MAX_RETRY_DELAY_SECONDS).toBe(43_200);
	});

	it("acknowledges and logs a malformed message instead of retrying it forever", async () => {
		const emails = recordEmails();
		const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
		const { result, ids } = await deliver("prebook-notifications", [
			"not json at all",
			{ type: "prebook.notified", book_id: "1", restock_id: 1, notified_at: "x", user_ids: [] },
			{ type: "something.else" },
		]);
		expect(result.explicitAcks).toEqual(ids);
		expect(result.retryMessages).toEqual([]);
		expect(emails).not.toHaveBeenCalled();
		const logged = warnings.mock.calls.map(([line]) => JSON.parse(String(line)));
		expect(logged.filter((l) => l.event === "prebook_message_malformed")).toHaveLength(3);
	});

	it("marks deliveries dead when the message reaches the dead-letter queue, and replays them", async () => {
		const [ok, doomed] = [await createUser(), await createUser()] as TestUser[];
		const { messages, restockId } = await notifiedRestock([ok, doomed] as TestUser[]);
		recordEmails([doomed?.email as string]);
		await deliver("prebook-notifications", messages, 5);

		const { result, ids } = await deliver("prebook-notifications-dlq", messages);
		expect(result.explicitAcks).toEqual(ids);
		expect((await deliveryStatuses(restockId)).map((d) => d.status).sort()).toEqual(["dead", "sent"]);
		expect(await restockView(restockId)).toMatchObject({ sent_count: 1, dead_count: 1, failed_count: 0 });

		// Replay: the dead delivery is republished and, once the provider recovers, sent; nobody twice.
		const queue = stubQueue();
		const replay = await api("POST", `/admin/restocks/${restockId}/replay`, { token: admin.token });
		expect(replay.status).toBe(202);
		expect(replay.body).toEqual({ restock_id: restockId, requeued: 1 });
		expect(d1RoundTrips(replay)).toBe(1);
		const republished = queue.published();
		expect(republished).toEqual([expect.objectContaining({ restock_id: restockId, user_ids: [doomed?.id] })]);
		// Confirmed again once the queue accepted it (after the response).
		expect((await restockView(restockId)).published_at).toMatch(/Z$/);
		const emails = recordEmails();
		await deliver("prebook-notifications", republished);
		expect(emails.recipients()).toEqual([doomed?.email]);
		expect(await restockView(restockId)).toMatchObject({ sent_count: 2, dead_count: 0 });
		expectError(
			await api("POST", "/admin/restocks/999999/replay", { token: admin.token }),
			404,
			"RESTOCK_NOT_FOUND",
		);
	});

	it("loads 5,000 recipients of one message within D1's per-statement limits", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const bulkEmails = await bulkUsers(5000);
		await env.DB.prepare(
			"INSERT INTO pre_bookings (user_id, book_id, status) SELECT id, ?, 'waiting' FROM users WHERE email LIKE ?",
		)
			.bind(book.id, bulkEmails)
			.run();
		const queue = stubQueue();
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const published = queue.published();
		const everyone = {
			...(published[0] as PrebookNotifiedMessage),
			user_ids: published.flatMap((m) => m.user_ids),
		};
		expect(everyone.user_ids).toHaveLength(5000);

		const emails = recordEmails();
		const { result, ids } = await deliver("prebook-notifications", [everyone]);
		expect(result.explicitAcks).toEqual(ids);
		expect(emails).toHaveBeenCalledTimes(5000);
		const sent = await env.DB.prepare(
			"SELECT count(*) AS n FROM email_deliveries WHERE restock_id = ? AND status = 'sent'",
		)
			.bind(everyone.restock_id)
			.first("n");
		expect(sent).toBe(5000);
	});
});

describe("the claim reads only the message's recipients", () => {
	it("finds 10 recipients of a 2,000-user restock with a handful of row reads, not a scan per id", async () => {
		const book = await createBook(admin.token, { stock_quantity: 3 });
		const emails = await bulkUsers(2000);
		const restock = await env.DB.prepare(
			"INSERT INTO restocks (book_id, quantity_before, quantity_after, notified_count, published_at) VALUES (?, 0, 3, 2000, '2026-11-21T10:00:00.000Z') RETURNING id",
		)
			.bind(book.id)
			.first<{ id: number }>();
		await env.DB.prepare(
			`INSERT INTO pre_bookings (user_id, book_id, status, notified_at, restock_id)
			 SELECT id, ?, 'notified', '2026-11-21T10:00:00.000Z', ? FROM users WHERE email LIKE ?`,
		)
			.bind(book.id, restock?.id, emails)
			.run();
		const { results } = await env.DB.prepare("SELECT id FROM users WHERE email LIKE ? ORDER BY id LIMIT 10")
			.bind(emails)
			.all<{ id: number }>();
		const message: PrebookNotifiedMessage = {
			type: "prebook.notified",
			book_id: book.id,
			restock_id: restock?.id as number,
			notified_at: "2026-11-21T10:00:00.000Z",
			user_ids: results.map((r) => r.id),
		};
		const usage = newD1Usage();
		const sent: OutgoingEmail[] = [];
		const outcome = await deliverPrebookEmails(
			createDb(env.DB, usage),
			{ send: async (email) => void sent.push(email) },
			message,
			{ appUrl: "https://shop.example", apiUrl: "https://api.example", unsubscribeSecret: "s".repeat(32) },
		);
		expect(outcome).toEqual({ claimed: 10, sent: 10, failed: 0 });
		expect(sent).toHaveLength(10);
		expect(usage.roundTrips).toBe(2);
		// A lookup per id (restock, user) reads a few rows each; a scan per id would read 20,000.
		expect(usage.rowsRead).toBeLessThan(400);
	});
});

describe("the relay", () => {
	it("confirms publication after a successful send", async () => {
		const { restockId, messages } = await notifiedRestock([await createUser()]);
		expect(messages).toHaveLength(1);
		// The confirmation runs after the response; `api` returned once it was done.
		expect((await restockView(restockId)).published_at).toMatch(/Z$/);
		// A confirmed restock is not the relay's business.
		const queue = stubQueue();
		await runCron(Date.now() + 5 * 60_000);
		expect(queue.published().filter((m) => m.restock_id === restockId)).toEqual([]);
	});

	it("republishes a restock committed without publication, once", async () => {
		const users = [await createUser(), await createUser()];
		const { restockId, messages } = await notifiedRestock(users, { publishFails: true });
		expect(messages).toHaveLength(1); // attempted, refused
		expect((await restockView(restockId)).published_at).toBeNull();

		// The relay republishes every unconfirmed restock of the file's database: look at this one's.
		const queue = stubQueue();
		const relayedOfThis = () => queue.published().filter((m) => m.restock_id === restockId);
		await runCron(Date.now()); // too recent: the request might still be publishing
		expect(relayedOfThis()).toEqual([]);

		await runCron(Date.now() + 5 * 60_000);
		const relayed = relayedOfThis();
		expect(relayed).toEqual([
			expect.objectContaining({
				type: "prebook.notified",
				restock_id: restockId,
				user_ids: expect.any(Array),
			}),
		]);
		expect(relayed[0]?.user_ids.sort()).toEqual(users.map((u) => u.id).sort());
		expect((await restockView(restockId)).published_at).toMatch(/Z$/);

		queue.clear();
		await runCron(Date.now() + 10 * 60_000);
		expect(relayedOfThis()).toEqual([]);

		// The relayed message emails each user once, even if the original message also arrives.
		const emails = recordEmails();
		await deliver("prebook-notifications", [...relayed, ...messages]);
		expect(emails.recipients().sort()).toEqual(users.map((u) => u.email).sort());
	});
});

describe("GET /admin/restocks", () => {
	it("lists restocks newest first with keyset pages, for admins only", async () => {
		const user = await createUser();
		const made = [];
		for (let i = 0; i < 3; i++) made.push((await notifiedRestock([])).restockId);
		const first = await api("GET", "/admin/restocks?limit=2", { token: admin.token });
		expect(first.body.items.map((r: { id: number }) => r.id)).toEqual([made[2], made[1]]);
		const second = await api("GET", `/admin/restocks?limit=2&cursor=${first.body.next_cursor}`, {
			token: admin.token,
		});
		expect(second.body.items[0].id).toBe(made[0]);
		expectError(await api("GET", "/admin/restocks", { token: user.token }), 403, "AUTH_FORBIDDEN");
		expectError(await api("POST", "/admin/restocks/1/replay", { token: user.token }), 403, "AUTH_FORBIDDEN");
	});
});

describe("email content", () => {
	it("escapes HTML in the book title and parses the sender", () => {
		const email = restockEmail({
			to: "a@example.com",
			fullName: null,
			bookId: 3,
			title: `<script>alert("x")</script>`,
			priceCents: 1999,
			appUrl: "https://shop.example",
			unsubscribe: { prebookUrl: "https://api.example/u/p", allUrl: "https://api.example/u/a" },
		});
		expect(email.html).not.toContain("<script>");
		expect(email.subject).toBe(`Back in stock: <script>alert("x")</script>`);
		expect(email.text).toContain("https://shop.example/books/3");
		expect(parseSender("Bookstore <n@example.com>")).toEqual({ name: "Bookstore", email: "n@example.com" });
		expect(parseSender("n@example.com")).toBe("n@example.com");
	});
});
