import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	emailedLinkToken,
	PASSWORD,
	startWithEmptyCache,
	uniqueEmail,
} from "./helpers";

/**
 * The budget (README, "D1 round trips per request"): one for every request — the caller's check runs
 * inside the request's own batch — except login (the hash is read before the refresh token is written)
 * and checkout (the cart is read before the payment is authorized): two. A public catalog read the
 * data center's cache answers makes none.
 */
describe("D1 round trips per request (Server-Timing)", () => {
	it("pins every route at its budget", async () => {
		// The public reads below count their D1 round trip: nothing another test of the file cached answers.
		await startWithEmptyCache();
		const admin = await createAdmin();
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const inStock = await createBook(admin.token, { stock_quantity: 5 });
		const spare = await createBook(admin.token, { stock_quantity: 5 });
		const other = await createUser();
		const work = (await api("POST", "/works", { token: admin.token, body: { title: "W", author: "A" } }))
			.body;
		const spareWork = (await api("POST", "/works", { token: admin.token, body: { title: "S", author: "A" } }))
			.body;
		const edition = await createBook(admin.token, {
			stock_quantity: 0,
			work_id: work.id,
			format: "paperback",
		});
		const prebook = (await api("POST", "/prebooks", { token: user.token, body: { book_id: book.id } })).body;
		const cart = (
			await api("POST", "/cart/items", { token: user.token, body: { book_id: inStock.id, quantity: 1 } })
		).body;
		const restock = await env.DB.prepare(
			"INSERT INTO restocks (book_id, quantity_before, quantity_after) VALUES (?, 0, 1) RETURNING id",
		)
			.bind(book.id)
			.first<{ id: number }>();
		// Webhooks: an endpoint with a failed delivery to retry (the queue is stubbed: nothing is POSTed).
		vi.spyOn(env.WEBHOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
		const hookBody = { url: "https://receiver.example/round-trips", events: ["prebook.expired"] };
		const hook = (await api("POST", "/admin/webhooks", { token: admin.token, body: hookBody })).body;
		const spareHook = (await api("POST", "/admin/webhooks", { token: admin.token, body: hookBody })).body;
		await env.DB.prepare(
			"INSERT INTO webhook_events (type, payload, source_key) VALUES ('prebook.expired', '{}', 'round-trips')",
		).run();
		const failedDelivery = await env.DB.prepare(
			`INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, status)
			 SELECT ?, id, type, 'failed' FROM webhook_events WHERE source_key = 'round-trips' RETURNING id`,
		)
			.bind(hook.id)
			.first<{ id: number }>();
		// Sign-up and reset links for the JSON routes and the pages (the emails are read as the reader would).
		const signUpAddress = uniqueEmail("round-trips");
		const [signUpLink, pageSignUpLink] = await Promise.all(
			[signUpAddress, uniqueEmail("page")].map(async (email) => {
				await api("POST", "/auth/register", { body: { email } });
				return emailedLinkToken(email, "/signup");
			}),
		);
		const resetLinks = [];
		for (const member of [await createUser(), await createUser()]) {
			await api("POST", "/auth/password/forgot", { body: { email: member.email } });
			resetLinks.push(emailedLinkToken(member.email, "/reset-password"));
		}
		const [resetLink, pageResetLink] = resetLinks;
		// A guest confirmation link for the page (a book of its own: the cases restock `book`).
		const guestAddress = uniqueEmail("guest-page");
		const guestBook = await createBook(admin.token, { stock_quantity: 0 });
		await api("POST", "/prebooks/guest", { body: { email: guestAddress, book_id: guestBook.id } });
		const pageGuestLink = emailedLinkToken(guestAddress, "/prebooks/confirm");
		const cases: [string, string, { token?: string; body?: unknown }, number][] = [
			["GET", "/health", {}, 1],
			["POST", "/auth/register", { body: { email: signUpAddress } }, 1],
			["POST", "/auth/register/complete", { body: { token: signUpLink, password: PASSWORD } }, 1],
			["POST", "/auth/password/forgot", { body: { email: user.email } }, 1],
			["POST", "/auth/password/reset", { body: { token: resetLink, password: PASSWORD } }, 1],
			["GET", `/signup?token=${pageSignUpLink}`, {}, 1],
			["GET", `/reset-password?token=${pageResetLink}`, {}, 1],
			["GET", `/prebooks/confirm?token=${pageGuestLink}`, {}, 1],
			["POST", "/auth/login", { body: { email: user.email, password: PASSWORD } }, 2],
			["POST", "/auth/refresh", { body: { refresh_token: other.refreshToken } }, 1],
			["POST", "/auth/logout", { body: { refresh_token: "unknown-token" } }, 1],
			["GET", "/users/me", { token: user.token }, 1],
			["GET", "/users/me/preferences", { token: user.token }, 1],
			["PATCH", "/users/me/preferences", { token: user.token, body: { restock_emails: true } }, 1],
			["GET", "/users/me/export", { token: user.token }, 1],
			["POST", "/prebooks/guest", { body: { email: uniqueEmail("guest"), book_id: book.id } }, 1],
			["GET", `/admin/books/${book.id}/prebooks`, { token: admin.token }, 1],
			["GET", "/admin/users", { token: admin.token }, 1],
			["PATCH", `/admin/users/${other.id}`, { token: admin.token, body: { is_active: true } }, 1],
			["GET", "/genres", {}, 1],
			["POST", "/genres", { token: admin.token, body: { name: `Genre ${crypto.randomUUID()}` } }, 1],
			["GET", "/books", {}, 1],
			["GET", `/books?work_id=${work.id}`, {}, 1],
			["GET", "/works", {}, 1],
			["GET", `/works/${work.id}`, {}, 1],
			["POST", "/works", { token: admin.token, body: { title: "T", author: "A" } }, 1],
			["PATCH", `/works/${work.id}`, { token: admin.token, body: { title: "Renamed" } }, 1],
			["DELETE", `/works/${spareWork.id}`, { token: admin.token }, 1],
			["POST", "/prebooks", { token: other.token, body: { work_id: work.id } }, 1],
			["POST", "/prebooks/guest", { body: { email: uniqueEmail("guest"), work_id: work.id } }, 1],
			["GET", `/admin/books/${edition.id}/prebooks`, { token: admin.token }, 1],
			["GET", `/books/${book.id}`, {}, 1],
			["GET", `/books/${book.id}/page`, {}, 1],
			["POST", "/books", { token: admin.token, body: { title: "T", author: "A", price: 1 } }, 1],
			["PATCH", `/books/${inStock.id}`, { token: admin.token, body: { title: "Renamed" } }, 1],
			["PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 3 } }, 1],
			["DELETE", `/books/${spare.id}`, { token: admin.token }, 1],
			["GET", "/prebooks", { token: user.token }, 1],
			["GET", `/prebooks/${prebook.id}`, { token: user.token }, 1],
			["DELETE", `/prebooks/${prebook.id}`, { token: user.token }, 1],
			["GET", "/admin/prebooks/demand", { token: admin.token }, 1],
			["GET", "/admin/insights/prebooks?from=2026-01-01&to=2026-12-31", { token: admin.token }, 1],
			[
				"GET",
				`/admin/insights/prebooks?from=2026-01-01&to=2026-12-31&book_id=${book.id}`,
				{ token: admin.token },
				1,
			],
			["GET", "/admin/restocks", { token: admin.token }, 1],
			["POST", `/admin/restocks/${restock?.id}/replay`, { token: admin.token }, 1],
			["GET", "/wishlist", { token: user.token }, 1],
			["POST", "/wishlist", { token: user.token, body: { book_id: inStock.id } }, 1],
			["DELETE", `/wishlist/${inStock.id}`, { token: user.token }, 1],
			["GET", "/cart", { token: user.token }, 1],
			["PATCH", `/cart/items/${cart.items[0].id}`, { token: user.token, body: { quantity: 2 } }, 1],
			["POST", "/orders/checkout", { token: user.token, body: {} }, 2],
			["GET", "/orders", { token: user.token }, 1],
			["GET", "/admin/orders", { token: admin.token }, 1],
			["POST", "/cart/items", { token: user.token, body: { book_id: inStock.id, quantity: 1 } }, 1],
			["POST", "/admin/webhooks", { token: admin.token, body: hookBody }, 1],
			["GET", "/admin/webhooks", { token: admin.token }, 1],
			["GET", `/admin/webhooks/${hook.id}`, { token: admin.token }, 1],
			[
				"PATCH",
				`/admin/webhooks/${hook.id}`,
				{ token: admin.token, body: { description: "Round trips" } },
				1,
			],
			["POST", `/admin/webhooks/${hook.id}/rotate-secret`, { token: admin.token }, 1],
			["GET", `/admin/webhooks/${hook.id}/deliveries`, { token: admin.token }, 1],
			[
				"POST",
				`/admin/webhooks/${hook.id}/deliveries/${failedDelivery?.id}/retry`,
				{ token: admin.token },
				1,
			],
			["DELETE", `/admin/webhooks/${spareHook.id}`, { token: admin.token }, 1],
			["GET", "/admin/events?types=prebook.*&limit=10", { token: admin.token }, 1],
			["GET", "/admin/webhooks/event-types", { token: admin.token }, 1],
			[
				"POST",
				`/admin/webhooks/${hook.id}/replay`,
				{
					token: admin.token,
					body: { since: new Date(Date.now() - 60_000).toISOString(), until: new Date().toISOString() },
				},
				1,
			],
		];
		const orders = await api("GET", "/orders", { token: user.token });
		for (const [method, path, options, expected] of cases) {
			const res = await api(method, path, options);
			expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
			expect(d1RoundTrips(res), `${method} ${path}`).toBe(expected);
		}
		// The pages' form POSTs, as a browser sends them (with the page's hidden language field; a client that
		// leaves it out costs one more read, for the link's language: test/link-pages.test.ts).
		for (const [path, status] of [
			[`/signup?token=${pageSignUpLink}`, 201],
			[`/reset-password?token=${pageResetLink}`, 200],
			[`/prebooks/confirm?token=${pageGuestLink}`, 201],
		] as const) {
			const res = await api("POST", path, {
				rawBody: new URLSearchParams({ password: PASSWORD, locale: "en" }).toString(),
				headers: { "Content-Type": "application/x-www-form-urlencoded" },
			});
			expect(res.status, `POST ${path}`).toBe(status);
			expect(d1RoundTrips(res), `POST ${path}`).toBe(1);
		}
		const latest = (await api("GET", "/orders", { token: user.token })).body.items[0];
		expect(orders.body.items).toHaveLength(0);
		const one = await api("GET", `/orders/${latest.id}`, { token: user.token });
		expect(d1RoundTrips(one)).toBe(1);
		const line = (await api("GET", "/cart", { token: user.token })).body.items[0];
		const removed = await api("DELETE", `/cart/items/${line.id}`, { token: user.token });
		expect(removed.status).toBe(204);
		expect(d1RoundTrips(removed)).toBe(1);
		vi.restoreAllMocks();
	});

	it("a cached catalog read is 0 (the Cache API answers); a write and the next read are 1 each", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		for (const path of [`/books/${book.id}`, "/books", "/genres"]) {
			expect(d1RoundTrips(await api("GET", path)), path).toBe(1);
			const hit = await api("GET", path);
			expect(hit.status, path).toBe(200);
			expect(d1RoundTrips(hit), path).toBe(0);
			const notModified = await api("GET", path, {
				headers: { "If-None-Match": hit.headers.get("ETag") ?? "" },
			});
			expect(notModified.status, path).toBe(304);
			expect(d1RoundTrips(notModified), path).toBe(0);
		}
		const write = await api("PATCH", `/books/${book.id}/stock`, {
			token: admin.token,
			body: { quantity: 2 },
		});
		expect(d1RoundTrips(write)).toBe(1);
		expect(d1RoundTrips(await api("GET", `/books/${book.id}`))).toBe(1);
		expect(d1RoundTrips(await api("GET", "/books"))).toBe(1);
	});

	it("refusals of the caller cost the same single round trip (401/403 from inside the batch)", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		const res = await api("POST", "/genres", { token: user.token, body: { name: "Not allowed" } });
		expect(res.status).toBe(403);
		expect(d1RoundTrips(res)).toBe(1);
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: false } });
		const deactivated = await api("GET", "/users/me", { token: user.token });
		expect(deactivated.status).toBe(403);
		expect(d1RoundTrips(deactivated)).toBe(1);
		// Reactivated: the tokens issued before are revoked (a new token version), refused with 401.
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: true } });
		const revoked = await api("GET", "/users/me", { token: user.token });
		expect(revoked.status).toBe(401);
		expect(revoked.body.code).toBe("AUTH_INVALID_TOKEN");
		expect(d1RoundTrips(revoked)).toBe(1);
	});
});
