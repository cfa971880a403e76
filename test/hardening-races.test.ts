/**
 * Abuse and race findings (issue: hardening), each reproduced with real concurrency where it is a race,
 * and the database's invariants checked afterwards.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it, vi } from "vitest";
import { MAX_CHECKOUT_ATTEMPTS, MAX_DECLINED_CHECKOUTS } from "../src/features/orders/checkout.service";
import { testPaymentProvider } from "../src/features/orders/payment";
import worker from "../src/index";
import {
	type ApiResponse,
	api,
	createAdmin,
	createBook,
	createUser,
	expectError,
	inOneRateWindow,
	PASSWORD,
	runCron,
} from "./helpers";
import { expectInvariants } from "./invariants";

const fromNetwork = (ip: string) => ({ "CF-Connecting-IP": ip });
let networkSequence = 0;
/** A fresh client IPv4 address per call, so the coarse per-network auth budget never interferes. */
const freshIpv4 = () => {
	networkSequence += 1;
	return `198.${18 + (networkSequence >> 16)}.${(networkSequence >> 8) & 255}.${networkSequence & 255}`;
};

describe("checkout with one Idempotency-Key, raced", () => {
	it("30 parallel checkouts of the last copy with one key all answer 201 with the one order", async () => {
		const admin = await createAdmin();
		const buyer = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 1, price: "9.50" });
		await api("POST", "/cart/items", { token: buyer.token, body: { book_id: book.id, quantity: 1 } });
		const headers = { "Idempotency-Key": `race-${crypto.randomUUID()}` };
		const results = await Promise.all(
			Array.from({ length: 30 }, () =>
				api("POST", "/orders/checkout", { token: buyer.token, body: {}, headers }),
			),
		);
		expect(results.map((res) => res.status)).toEqual(Array(30).fill(201));
		expect(new Set(results.map((res) => res.body.id)).size).toBe(1);
		expect(results.filter((res) => res.headers.get("Idempotent-Replayed") !== "true")).toHaveLength(1);
		const orders = await env.DB.prepare("SELECT count(*) AS n FROM orders WHERE user_id = ?")
			.bind(buyer.id)
			.first<{ n: number }>();
		expect(orders?.n).toBe(1);
		expect((await api("GET", `/books/${book.id}`)).body.stock_quantity).toBe(0);
		await expectInvariants();
	});

	it("the same key with another payment_token is 422 IDEMPOTENCY_KEY_REUSED, also against a declined order", async () => {
		const admin = await createAdmin();
		const buyer = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 5 });
		await api("POST", "/cart/items", { token: buyer.token, body: { book_id: book.id, quantity: 1 } });
		const headers = { "Idempotency-Key": `reuse-${crypto.randomUUID()}` };
		const first = await api("POST", "/orders/checkout", {
			token: buyer.token,
			body: { payment_token: "tok_fail" },
			headers,
		});
		expect(first.body.status).toBe("payment_failed");
		const reused = await api("POST", "/orders/checkout", {
			token: buyer.token,
			body: { payment_token: "tok_visa" },
			headers,
		});
		expectError(reused, 422, "IDEMPOTENCY_KEY_REUSED", "payment_token");
		const replay = await api("POST", "/orders/checkout", {
			token: buyer.token,
			body: { payment_token: "tok_fail" },
			headers,
		});
		expect(replay.status).toBe(201);
		expect(replay.body.id).toBe(first.body.id);
	});
});

describe("checkout without an Idempotency-Key, raced", () => {
	it("a double-clicked checkout makes one order; the other click gets 409 CART_EMPTY and is not charged", async () => {
		const admin = await createAdmin();
		const buyer = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10, price: "7.00" });
		await api("POST", "/cart/items", { token: buyer.token, body: { book_id: book.id, quantity: 2 } });
		const capture = vi.spyOn(testPaymentProvider, "capture");
		const voided = vi.spyOn(testPaymentProvider, "void");
		const authorize = vi.spyOn(testPaymentProvider, "authorize");
		const clicks = await Promise.all(
			[1, 2].map(() => api("POST", "/orders/checkout", { token: buyer.token, body: {} })),
		);
		expect(clicks.map((res) => res.status).sort()).toEqual([201, 409]);
		expectError(clicks.find((res) => res.status === 409) as ApiResponse, 409, "CART_EMPTY", null);
		expect((await api("GET", `/books/${book.id}`)).body.stock_quantity).toBe(8);
		// Only the order's payment is taken; an authorization the losing click got is released.
		expect(capture).toHaveBeenCalledTimes(1);
		expect(voided).toHaveBeenCalledTimes(authorize.mock.calls.length - 1);
		await expectInvariants();
	});

	it("5 parallel checkouts of one cart make one order; the rest are 409 CART_EMPTY (or 429 past the in-flight cap)", async () => {
		const admin = await createAdmin();
		const buyer = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10, price: "7.00" });
		await api("POST", "/cart/items", { token: buyer.token, body: { book_id: book.id, quantity: 2 } });
		const capture = vi.spyOn(testPaymentProvider, "capture");
		const authorize = vi.spyOn(testPaymentProvider, "authorize");
		const results = await Promise.all(
			Array.from({ length: 5 }, () => api("POST", "/orders/checkout", { token: buyer.token, body: {} })),
		);
		expect(results.filter((res) => res.status === 201)).toHaveLength(1);
		for (const res of results.filter((res) => res.status !== 201)) {
			// Attempts still waiting for the provider count as possible declines: at most 3 are tried at once.
			expect(["409 CART_EMPTY", "429 RATE_LIMITED"]).toContain(`${res.status} ${res.body.code}`);
		}
		expect(authorize.mock.calls.length).toBeLessThanOrEqual(MAX_DECLINED_CHECKOUTS);
		const orders = await env.DB.prepare(
			"SELECT count(*) AS n, sum(total_cents) AS cents FROM orders WHERE user_id = ?",
		)
			.bind(buyer.id)
			.first<{ n: number; cents: number }>();
		expect(orders).toEqual({ n: 1, cents: 1400 });
		expect((await api("GET", `/books/${book.id}`)).body.stock_quantity).toBe(8);
		expect(capture).toHaveBeenCalledTimes(1);
		const pending = await env.DB.prepare("SELECT sum(pending) AS n FROM checkout_attempts WHERE user_id = ?")
			.bind(buyer.id)
			.first<{ n: number }>();
		expect(pending?.n).toBe(0);
		await expectInvariants();
	});

	it("a cart changed between pricing and commit is 409 CART_CHANGED: nothing ordered, charged or taken from stock", async () => {
		const admin = await createAdmin();
		const buyer = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10 });
		const other = await createBook(admin.token, { stock_quantity: 10 });
		await api("POST", "/cart/items", { token: buyer.token, body: { book_id: book.id, quantity: 1 } });
		// The buyer raises the quantity in another tab while the payment is being authorized.
		const authorize = testPaymentProvider.authorize.bind(testPaymentProvider);
		vi.spyOn(testPaymentProvider, "authorize").mockImplementationOnce(async (input) => {
			await api("POST", "/cart/items", { token: buyer.token, body: { book_id: book.id, quantity: 3 } });
			await api("POST", "/cart/items", { token: buyer.token, body: { book_id: other.id, quantity: 1 } });
			return authorize(input);
		});
		const capture = vi.spyOn(testPaymentProvider, "capture");
		const voided = vi.spyOn(testPaymentProvider, "void");
		const res = await api("POST", "/orders/checkout", { token: buyer.token, body: {} });
		expectError(res, 409, "CART_CHANGED", null);
		expect(capture).not.toHaveBeenCalled();
		expect(voided).toHaveBeenCalledTimes(1);
		expect((await api("GET", `/books/${book.id}`)).body.stock_quantity).toBe(10);
		const cart = await api("GET", "/cart", { token: buyer.token });
		expect(cart.body.items.map((line: { quantity: number }) => line.quantity)).toEqual([4, 1]);
		// The changed cart is bought as it now is.
		const bought = await api("POST", "/orders/checkout", { token: buyer.token, body: {} });
		expect(bought.status).toBe(201);
		expect(bought.body.items.map((item: { quantity: number }) => item.quantity)).toEqual([4, 1]);
		await expectInvariants();
	});
});

describe("checkout is no card-testing oracle", () => {
	it(`60 parallel declined checkouts try at most ${MAX_DECLINED_CHECKOUTS} payments (the decline cap holds in parallel); the rest get 429 with Retry-After`, async () => {
		const admin = await createAdmin();
		const tester = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 5 });
		await api("POST", "/cart/items", { token: tester.token, body: { book_id: book.id, quantity: 1 } });
		const results = await Promise.all(
			Array.from({ length: 60 }, (_, i) =>
				api("POST", "/orders/checkout", {
					token: tester.token,
					body: { payment_token: `tok_fail` },
					headers: { "Idempotency-Key": `card-${i}` },
				}),
			),
		);
		const limited = results.filter((res) => res.status === 429);
		// Each request counts the others still waiting for the provider as possible declines.
		expect(limited).toHaveLength(60 - MAX_DECLINED_CHECKOUTS);
		for (const res of limited) {
			expectError(res, 429, "RATE_LIMITED");
			expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
		}
		const payments = await env.DB.prepare(
			"SELECT count(*) AS n FROM payments JOIN orders ON orders.id = payments.order_id WHERE orders.user_id = ?",
		)
			.bind(tester.id)
			.first<{ n: number }>();
		expect(payments?.n).toBe(MAX_DECLINED_CHECKOUTS);
		expect(MAX_DECLINED_CHECKOUTS).toBeLessThan(MAX_CHECKOUT_ATTEMPTS);
		await expectInvariants();
	});

	it("a reused key (422) or a replay spends no attempt; race losers' attempts are settled; an answer still pending holds for a minute at most", async () => {
		const admin = await createAdmin();
		const buyer = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 5 });
		await api("POST", "/cart/items", { token: buyer.token, body: { book_id: book.id, quantity: 1 } });
		const declined = await api("POST", "/orders/checkout", {
			token: buyer.token,
			headers: { "Idempotency-Key": "first-card" },
			body: { payment_token: "tok_fail" },
		});
		expect(declined.body.status).toBe("payment_failed");
		for (let i = 0; i < 5; i++) {
			expectError(
				await api("POST", "/orders/checkout", {
					token: buyer.token,
					headers: { "Idempotency-Key": "first-card" },
					body: { payment_token: `tok_other_${i}` },
				}),
				422,
				"IDEMPOTENCY_KEY_REUSED",
			);
			const replay = await api("POST", "/orders/checkout", {
				token: buyer.token,
				headers: { "Idempotency-Key": "first-card" },
				body: { payment_token: "tok_fail" },
			});
			expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
		}
		const attempts = await env.DB.prepare(
			"SELECT count(*) AS n, sum(pending) AS pending FROM checkout_attempts WHERE user_id = ?",
		)
			.bind(buyer.id)
			.first();
		expect(attempts).toEqual({ n: 1, pending: 0 });
		const bought = await api("POST", "/orders/checkout", {
			token: buyer.token,
			body: { payment_token: "tok_visa" },
		});
		expect(bought.body.status).toBe("confirmed");

		// Five buyers race for the last copy: the losers' approved-then-voided payments are no possible declines.
		const last = await createBook(admin.token, { stock_quantity: 1 });
		const buyers = await Promise.all(Array.from({ length: 5 }, () => createUser()));
		for (const racer of buyers)
			await api("POST", "/cart/items", { token: racer.token, body: { book_id: last.id, quantity: 1 } });
		const raced = await Promise.all(
			buyers.map((racer) => api("POST", "/orders/checkout", { token: racer.token, body: {} })),
		);
		expect(raced.filter((res) => res.status === 201)).toHaveLength(1);
		const unsettled = await env.DB.prepare(
			`SELECT count(*) AS n FROM checkout_attempts WHERE pending = 1 AND user_id IN (${buyers.map((b) => b.id).join(",")})`,
		).first();
		expect(unsettled).toEqual({ n: 0 });

		// Possible declines still awaiting their answer (as D1 holds them while the provider thinks).
		const waiting = await createUser();
		await api("POST", "/cart/items", { token: waiting.token, body: { book_id: book.id, quantity: 1 } });
		for (let i = 0; i < MAX_DECLINED_CHECKOUTS; i++)
			await env.DB.prepare(
				"INSERT INTO checkout_attempts (user_id, attempted_at, request_fingerprint, pending) VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 seconds'), 'x', 1)",
			)
				.bind(waiting.id)
				.run();
		const held = await api("POST", "/orders/checkout", { token: waiting.token, body: {} });
		expectError(held, 429, "RATE_LIMITED");
		const retryAfter = Number(held.headers.get("Retry-After"));
		expect(retryAfter).toBeGreaterThanOrEqual(45);
		expect(retryAfter).toBeLessThanOrEqual(50);
	});

	it("an empty or short cart spends no attempt, and an attempt that never got its answer stops counting after a minute", async () => {
		const admin = await createAdmin();
		const buyer = await createUser();
		for (let i = 0; i < MAX_CHECKOUT_ATTEMPTS + 2; i++)
			expectError(await api("POST", "/orders/checkout", { token: buyer.token, body: {} }), 409, "CART_EMPTY");
		const scarce = await createBook(admin.token, { stock_quantity: 1 });
		await api("POST", "/cart/items", { token: buyer.token, body: { book_id: scarce.id, quantity: 1 } });
		await api("PATCH", `/books/${scarce.id}/stock`, { token: admin.token, body: { quantity: 0 } });
		for (let i = 0; i < MAX_CHECKOUT_ATTEMPTS + 2; i++)
			expectError(
				await api("POST", "/orders/checkout", { token: buyer.token, body: {} }),
				409,
				"INSUFFICIENT_STOCK",
			);
		await api("PATCH", `/books/${scarce.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		// Requests that died waiting for the provider two minutes ago (as D1 would hold them).
		for (let i = 0; i < MAX_DECLINED_CHECKOUTS; i++)
			await env.DB.prepare(
				"INSERT INTO checkout_attempts (user_id, attempted_at, request_fingerprint, pending) VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 minutes'), 'x', 1)",
			)
				.bind(buyer.id)
				.run();
		const bought = await api("POST", "/orders/checkout", {
			token: buyer.token,
			body: { payment_token: "tok_visa" },
		});
		expect(bought.status).toBe(201);
		expect(bought.body.status).toBe("confirmed");
		const attempts = await env.DB.prepare(
			"SELECT count(*) AS n, sum(pending) AS pending FROM checkout_attempts WHERE user_id = ? AND request_fingerprint <> 'x'",
		)
			.bind(buyer.id)
			.first();
		expect(attempts).toEqual({ n: 1, pending: 0 });
	});

	it(`declines are throttled more tightly: after ${MAX_DECLINED_CHECKOUTS} declines even a good card waits`, async () => {
		const admin = await createAdmin();
		const buyer = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 5 });
		await api("POST", "/cart/items", { token: buyer.token, body: { book_id: book.id, quantity: 1 } });
		for (let i = 0; i < MAX_DECLINED_CHECKOUTS; i++) {
			const res = await api("POST", "/orders/checkout", {
				token: buyer.token,
				body: { payment_token: "tok_fail" },
			});
			expect(res.body.status).toBe("payment_failed");
		}
		const blocked = await api("POST", "/orders/checkout", {
			token: buyer.token,
			body: { payment_token: "tok_visa" },
		});
		expectError(blocked, 429, "RATE_LIMITED");
		expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(0);
		expect((await api("GET", `/books/${book.id}`)).body.stock_quantity).toBe(5);
	});
});

describe("nobody can lock anybody out of login", () => {
	it("10 failures from one network refuse that network only; the user's own network still logs in", async () => {
		const victim = await createUser();
		const attacker = freshIpv4();
		for (let i = 0; i < 10; i++) {
			const res = await api("POST", "/auth/login", {
				body: { email: victim.email, password: "wrong password" },
				headers: fromNetwork(attacker),
			});
			expectError(res, 401, "AUTH_INVALID_CREDENTIALS");
		}
		const locked = await api("POST", "/auth/login", {
			body: { email: victim.email, password: PASSWORD },
			headers: fromNetwork(attacker),
		});
		expectError(locked, 429, "RATE_LIMITED");
		expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(0);
		const home = await api("POST", "/auth/login", {
			body: { email: victim.email, password: PASSWORD },
			headers: fromNetwork(freshIpv4()),
		});
		expect(home.status).toBe(200);
	});

	it("100 failures for one email from rotating networks refuse that email everywhere (guessing stays bounded)", async () => {
		const victim = await createUser();
		const attempts = await Promise.all(
			Array.from({ length: 12 }, async () => {
				const network = freshIpv4();
				const statuses: number[] = [];
				for (let i = 0; i < 10; i++) {
					const res = await api("POST", "/auth/login", {
						body: { email: victim.email, password: "wrong password" },
						headers: fromNetwork(network),
					});
					statuses.push(res.status);
				}
				return statuses;
			}),
		);
		const failures = attempts.flat().filter((status) => status === 401);
		expect(failures).toHaveLength(100);
		const anywhere = await api("POST", "/auth/login", {
			body: { email: victim.email, password: PASSWORD },
			headers: fromNetwork(freshIpv4()),
		});
		expectError(anywhere, 429, "RATE_LIMITED");
	});

	it("10 networks × 10 failures cannot lock the owner out of a network it logged in from within 30 days", async () => {
		const victim = await createUser();
		const home = freshIpv4();
		const loginFrom = (network: string, password: string) =>
			api("POST", "/auth/login", { body: { email: victim.email, password }, headers: fromNetwork(network) });
		expect((await loginFrom(home, PASSWORD)).status).toBe(200);
		const statuses = await Promise.all(
			Array.from({ length: 10 }, async () => {
				const network = freshIpv4();
				const seen: number[] = [];
				for (let i = 0; i < 10; i++) seen.push((await loginFrom(network, "wrong password")).status);
				return seen;
			}),
		);
		expect(statuses.flat().filter((status) => status === 401)).toHaveLength(100);
		// Locked everywhere else (guessing stays bounded)…
		expectError(await loginFrom(freshIpv4(), PASSWORD), 429, "RATE_LIMITED");
		// …but not at home, where only the per-network limit applies.
		expect((await loginFrom(home, PASSWORD)).status).toBe(200);
		const guesses = await Promise.all(Array.from({ length: 12 }, () => loginFrom(home, "wrong password")));
		expect(guesses.map((res) => res.status).sort()).toEqual([...Array(10).fill(401), 429, 429]);
		const limited = await loginFrom(home, PASSWORD);
		expectError(limited, 429, "RATE_LIMITED");
		expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
	});

	it("a network counts as known for 30 days, and only under the account's current tokens", async () => {
		const victim = await createUser();
		const home = freshIpv4();
		const loginFrom = (network: string, password: string) =>
			api("POST", "/auth/login", { body: { email: victim.email, password }, headers: fromNetwork(network) });
		expect((await loginFrom(home, PASSWORD)).status).toBe(200);
		const now = new Date().toISOString();
		await env.DB.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
			 INSERT INTO login_attempts (email, network, attempted_at) SELECT ?, 'elsewhere-' || i, ? FROM n`,
		)
			.bind(victim.email, now)
			.run();
		const setKnownAt = (at: string) =>
			env.DB.prepare("UPDATE login_networks SET last_login_at = ? WHERE user_id = ?")
				.bind(at, victim.id)
				.run();
		await setKnownAt(new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString());
		expectError(await loginFrom(home, PASSWORD), 429, "RATE_LIMITED");
		await setKnownAt(new Date(Date.now() - 29 * 24 * 3600 * 1000).toISOString());
		expect((await loginFrom(home, PASSWORD)).status).toBe(200);
		// Deactivation ends every token, and with them what the account's networks were trusted for.
		await env.DB.prepare("UPDATE users SET token_version = token_version + 1 WHERE id = ?")
			.bind(victim.id)
			.run();
		expectError(await loginFrom(home, PASSWORD), 429, "RATE_LIMITED");
	});

	it("IPv6 clients are one client per /64, whatever the spelling (the 31st auth request of the minute is 429)", async () => {
		const prefix = `2001:db8:${(Date.now() % 65535).toString(16)}:${(networkSequence++ % 65535).toString(16)}`;
		const spellings = [
			`${prefix}::1`,
			`${prefix}:0:0:0:2`,
			`${prefix.toUpperCase()}::3`,
			`${prefix}:0::4`,
			`${prefix}::ffff:5`,
		];
		const statuses: number[] = [];
		await inOneRateWindow();
		for (let i = 0; i < 31; i++) {
			const res = await api("POST", "/auth/logout", {
				body: { refresh_token: "x" },
				headers: fromNetwork(spellings[i % 5] as string),
			});
			statuses.push(res.status);
		}
		expect(statuses.slice(0, 30).every((status) => status === 204)).toBe(true);
		expect(statuses[30]).toBe(429);
	});
});

describe("access tokens", () => {
	const secret = () => env.JWT_SECRET as string;
	const claims = (userId: number, extra: Record<string, unknown> = {}) => {
		const now = Math.floor(Date.now() / 1000);
		return {
			sub: String(userId),
			ver: 0,
			iss: "bookstore-edge-api",
			aud: "bookstore-edge-api",
			iat: now,
			exp: now + 900,
			...extra,
		};
	};

	it("refuses a correctly signed token that lives longer than 15 minutes, or lacks iss or aud", async () => {
		const user = await createUser();
		const now = Math.floor(Date.now() / 1000);
		for (const forged of [
			claims(user.id, { exp: now + 365 * 24 * 3600 }),
			claims(user.id, { iss: undefined }),
			claims(user.id, { aud: "another-service" }),
		]) {
			const token = await sign(forged, secret(), "HS256");
			expectError(await api("GET", "/users/me", { token }), 401, "AUTH_INVALID_TOKEN");
		}
		const genuine = await sign(claims(user.id), secret(), "HS256");
		expect((await api("GET", "/users/me", { token: genuine })).status).toBe(200);
	});
});

describe("restock publication failures strand nothing", () => {
	async function deadRestock(admin: { token: string }) {
		const reader = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await api("POST", "/prebooks", { token: reader.token, body: { book_id: book.id } });
		vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
		const ctx = createExecutionContext();
		const res = await worker.fetch(
			new Request(`https://api.test/books/${book.id}/stock`, {
				method: "PATCH",
				headers: { "Content-Type": "application/json", Authorization: `Bearer ${admin.token}` },
				body: JSON.stringify({ quantity: 1 }),
			}),
			env,
			ctx,
		);
		expect(res.status).toBe(200);
		await waitOnExecutionContext(ctx);
		const restock = await env.DB.prepare("SELECT id FROM restocks WHERE book_id = ?")
			.bind(book.id)
			.first<{ id: number }>();
		const prebook = await env.DB.prepare("SELECT id FROM pre_bookings WHERE book_id = ?")
			.bind(book.id)
			.first<{ id: number }>();
		await env.DB.prepare(
			"INSERT INTO email_deliveries (prebook_id, restock_id, user_id, status, attempts) VALUES (?, ?, ?, 'dead', 5)",
		)
			.bind(prebook?.id, restock?.id, reader.id)
			.run();
		vi.restoreAllMocks();
		return { restockId: restock?.id as number, reader };
	}

	it("a replay whose publication fails answers 202 and hands the restock to the relay", async () => {
		const admin = await createAdmin();
		const { restockId, reader } = await deadRestock(admin);
		vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockRejectedValue(new Error("queue unavailable"));
		const replay = await api("POST", `/admin/restocks/${restockId}/replay`, { token: admin.token });
		expect(replay.status).toBe(202);
		expect(replay.body).toEqual({ restock_id: restockId, requeued: 1 });
		const pending = await env.DB.prepare("SELECT published_at FROM restocks WHERE id = ?")
			.bind(restockId)
			.first();
		expect(pending).toEqual({ published_at: null });

		vi.restoreAllMocks();
		const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
		await runCron(Date.now() + 5 * 60_000);
		const relayed = sendBatch.mock.calls.flatMap(([batch]) =>
			[...batch].map((m) => m.body as { restock_id: number; user_ids: number[] }),
		);
		expect(relayed.filter((m) => m.restock_id === restockId).flatMap((m) => m.user_ids)).toEqual([reader.id]);
		const published = await env.DB.prepare("SELECT published_at FROM restocks WHERE id = ?")
			.bind(restockId)
			.first<{ published_at: string | null }>();
		expect(published?.published_at).toMatch(/Z$/);
	});

	it("one restock failing in the relay does not stop the others (each is logged and retried)", async () => {
		const admin = await createAdmin();
		const first = await deadRestock(admin);
		const second = await deadRestock(admin);
		await env.DB.prepare("UPDATE restocks SET published_at = NULL, notified_count = 1 WHERE id IN (?, ?)")
			.bind(first.restockId, second.restockId)
			.run();
		const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockImplementation(async (messages) => {
			const restockId = ([...messages][0]?.body as { restock_id: number } | undefined)?.restock_id;
			if (restockId === first.restockId) throw new Error("queue refused this one");
			return {} as never;
		});
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		await runCron(Date.now() + 5 * 60_000);
		expect(sendBatch).toHaveBeenCalled();
		const states = await env.DB.prepare(
			"SELECT id, published_at FROM restocks WHERE id IN (?, ?) ORDER BY id",
		)
			.bind(first.restockId, second.restockId)
			.all<{ id: number; published_at: string | null }>();
		expect(states.results.map((row) => row.published_at === null)).toEqual([true, false]);
		expect(errors.mock.calls.some(([line]) => String(line).includes("restock_relay_failed"))).toBe(true);
	});
});
