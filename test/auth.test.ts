import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { PBKDF2_ITERATIONS } from "../src/lib/password";
import {
	api,
	createAdmin,
	createUser,
	d1RoundTrips,
	emailedLinkToken,
	expectError,
	inOneRateWindow,
	login,
	PASSWORD,
	registerAndLogIn,
	uniqueEmail,
} from "./helpers";

const decodePart = (part: string) => JSON.parse(atob(part.replaceAll("-", "+").replaceAll("_", "/")));
const b64url = (value: unknown) =>
	btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

describe("sign-up input (the flow itself: test/sign-up.test.ts)", () => {
	it("trims and lower-cases the address: the account is made for the normalised one", async () => {
		const email = uniqueEmail("Mixed");
		const res = await api("POST", "/auth/register", { body: { email: `  ${email.toUpperCase()} ` } });
		expect(res.status).toBe(202);
		const completed = await api("POST", "/auth/register/complete", {
			body: { token: emailedLinkToken(email.toLowerCase(), "/signup"), password: PASSWORD },
		});
		expect(completed.body.user).toMatchObject({ email: email.toLowerCase(), full_name: null });
		expect(JSON.stringify(completed.body)).not.toContain("pbkdf2");
	});

	it.each([
		["/auth/register", { email: "nope" }, "email"],
		["/auth/register", { email: 42 }, "email"],
		["/auth/register", {}, "email"],
		["/auth/register/complete", { token: "t", password: "1234567" }, "password"],
		["/auth/register/complete", { token: "t", password: "x".repeat(129) }, "password"],
		["/auth/register/complete", { token: "t" }, "password"],
		["/auth/register/complete", { password: PASSWORD }, "token"],
		["/auth/register/complete", { token: "t", password: PASSWORD, full_name: 7 }, "full_name"],
		["/auth/password/forgot", { email: "nope" }, "email"],
		["/auth/password/reset", { token: "t", password: "short" }, "password"],
		["/auth/password/reset", { token: "", password: PASSWORD }, "token"],
	])("%s refuses %j (422 on %s)", async (path, body, field) => {
		expectError(await api("POST", path, { body }), 422, "VALIDATION_ERROR", field);
	});

	it("ignores role and is_active in the body (no mass assignment)", async () => {
		const email = uniqueEmail();
		await api("POST", "/auth/register", { body: { email, role: "admin" } });
		const res = await api("POST", "/auth/register/complete", {
			body: {
				token: emailedLinkToken(email, "/signup"),
				password: PASSWORD,
				role: "admin",
				is_active: false,
				email_verified: false,
				id: 1,
			},
		});
		expect(res.status).toBe(201);
		expect(res.body.user).toMatchObject({ role: "user", is_active: true, email_verified: true });
	});
});

describe("POST /auth/login", () => {
	it("returns a 15-minute HS256 access token and an opaque refresh token", async () => {
		const user = await createUser();
		const res = await api("POST", "/auth/login", { body: { email: user.email, password: PASSWORD } });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ token_type: "bearer", expires_in: 900 });
		const [header, payload] = res.body.access_token.split(".");
		expect(decodePart(header)).toMatchObject({ alg: "HS256", typ: "JWT" });
		const claims = decodePart(payload);
		expect(claims.sub).toBe(String(user.id));
		expect(claims.exp - claims.iat).toBe(900);
		expect(res.body.refresh_token).toMatch(/^[\w-]{43}$/);
		expect(d1RoundTrips(res)).toBe(2);
		// Stored only as a hash, valid 30 days.
		const stored = await env.DB.prepare(
			"SELECT token_hash, expires_at FROM refresh_tokens WHERE user_id = ? ORDER BY id DESC LIMIT 1",
		)
			.bind(user.id)
			.first<{ token_hash: string; expires_at: string }>();
		expect(stored?.token_hash).toMatch(/^[0-9a-f]{64}$/);
		expect(stored?.token_hash).not.toContain(res.body.refresh_token);
		const days = (Date.parse(stored?.expires_at ?? "") - Date.now()) / 86_400_000;
		expect(days).toBeGreaterThan(29.9);
		expect(days).toBeLessThanOrEqual(30);
	});

	it("gives the same 401 for an unknown email and a wrong password", async () => {
		const user = await createUser();
		const wrong = await api("POST", "/auth/login", {
			body: { email: user.email, password: "wrong-password" },
		});
		const unknown = await api("POST", "/auth/login", {
			body: { email: uniqueEmail(), password: "wrong-password" },
		});
		expectError(wrong, 401, "AUTH_INVALID_CREDENTIALS", null);
		const { request_id: _unknownId, ...unknownBody } = unknown.body;
		const { request_id: _wrongId, ...wrongBody } = wrong.body;
		expect(unknownBody).toEqual(wrongBody);
		expect(unknown.status).toBe(wrong.status);
	});

	it("does the same work for an unknown address, a passwordless guest and a wrong password: one PBKDF2 derivation", async () => {
		const user = await createUser();
		const guest = uniqueEmail("guest");
		await env.DB.prepare(
			"INSERT INTO users (email, password_hash, is_guest, email_verified) VALUES (?, '!guest', 1, 1)",
		)
			.bind(guest)
			.run();
		const derive = vi.spyOn(crypto.subtle, "deriveBits");
		for (const email of [uniqueEmail("unknown"), uniqueEmail("unknown"), guest, user.email]) {
			derive.mockClear();
			const res = await api("POST", "/auth/login", { body: { email, password: "wrong-password" } });
			expectError(res, 401, "AUTH_INVALID_CREDENTIALS", null);
			const iterations = derive.mock.calls.map(([params]) => (params as { iterations: number }).iterations);
			expect(iterations, email).toEqual([PBKDF2_ITERATIONS]);
		}
	});

	it("limits one email to 10 failed attempts in 15 minutes (429 with Retry-After)", async () => {
		const user = await createUser();
		const other = await createUser();
		for (let i = 0; i < 10; i++) {
			const res = await api("POST", "/auth/login", { body: { email: user.email, password: `wrong-${i}` } });
			expect(res.status).toBe(401);
		}
		const limited = await api("POST", "/auth/login", { body: { email: user.email, password: PASSWORD } });
		expectError(limited, 429, "RATE_LIMITED");
		const retryAfter = Number(limited.headers.get("Retry-After"));
		expect(retryAfter).toBeGreaterThan(0);
		expect(retryAfter).toBeLessThanOrEqual(900);
		// Other emails are unaffected.
		expect(
			(await api("POST", "/auth/login", { body: { email: other.email, password: PASSWORD } })).status,
		).toBe(200);
		// Once the failures are 15 minutes old they no longer count.
		await env.DB.prepare("UPDATE login_attempts SET attempted_at = ? WHERE email = ?")
			.bind(new Date(Date.now() - 15 * 60_000 - 1000).toISOString(), user.email)
			.run();
		expect(
			(await api("POST", "/auth/login", { body: { email: user.email, password: PASSWORD } })).status,
		).toBe(200);
	});

	it("never lets concurrent guesses past the limit", async () => {
		const user = await createUser();
		const results = await Promise.all(
			Array.from({ length: 15 }, (_, i) =>
				api("POST", "/auth/login", { body: { email: user.email, password: `guess-${i}` } }),
			),
		);
		const statuses = results.map((r) => r.status);
		expect(statuses.filter((s) => s === 401)).toHaveLength(10);
		expect(statuses.filter((s) => s === 429)).toHaveLength(5);
	});

	it("clears the failure count after a successful login", async () => {
		const user = await createUser();
		for (let i = 0; i < 9; i++)
			await api("POST", "/auth/login", { body: { email: user.email, password: "nope-nope" } });
		await login(user.email);
		for (let i = 0; i < 9; i++) {
			const res = await api("POST", "/auth/login", { body: { email: user.email, password: "nope-nope" } });
			expect(res.status).toBe(401);
		}
	});

	it("refuses a deactivated account with 403 once the password is right", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: false } });
		expectError(
			await api("POST", "/auth/login", { body: { email: user.email, password: PASSWORD } }),
			403,
			"AUTH_ACCOUNT_DEACTIVATED",
		);
		expectError(
			await api("POST", "/auth/login", { body: { email: user.email, password: "wrong-password" } }),
			401,
			"AUTH_INVALID_CREDENTIALS",
		);
	});
});

describe("per-client limit on auth requests", () => {
	it("lets one client address make 30 auth requests a minute, then answers 429 with Retry-After", async () => {
		const from = (ip: string) => ({ "CF-Connecting-IP": ip });
		const statuses: number[] = [];
		await inOneRateWindow();
		for (let i = 0; i < 32; i++) {
			const res = await api("POST", "/auth/login", {
				body: { email: uniqueEmail("spray"), password: "guessing-1" },
				headers: from("203.0.113.7"),
			});
			statuses.push(res.status);
			if (res.status === 429) {
				expectError(res, 429, "RATE_LIMITED", null);
				expect(res.headers.get("Retry-After")).toBe("60");
			}
		}
		expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
		expect(statuses.slice(30)).toEqual([429, 429]);
		// Another client is unaffected, and so are the other endpoints.
		const other = await api("POST", "/auth/login", {
			body: { email: uniqueEmail(), password: "guessing-1" },
			headers: from("198.51.100.9"),
		});
		expect(other.status).toBe(401);
		expect((await api("GET", "/books", { headers: from("203.0.113.7") })).status).toBe(200);
	});
});

describe("requests without a usable client address", () => {
	it("share one 'unknown' budget instead of passing unlimited (missing or unparseable CF-Connecting-IP)", async () => {
		// A stand-in limiter: the real one's "unknown" bucket is shared by the whole run.
		const keys: string[] = [];
		const limiter = {
			limit: async ({ key }: { key: string }) => {
				keys.push(key);
				return { success: keys.length <= 3 };
			},
		};
		const testEnv = { ...env, AUTH_RATE_LIMITER: limiter } as unknown as Env;
		const statuses: number[] = [];
		for (const address of [undefined, "", "not-an-ip", "999.1.2.3", "010.0.0.1"]) {
			const headers = new Headers({ "Content-Type": "application/json" });
			if (address !== undefined) headers.set("CF-Connecting-IP", address);
			const request = new Request("https://api.test/auth/logout", {
				method: "POST",
				headers,
				body: JSON.stringify({ refresh_token: "unknown-token" }),
			});
			const ctx = createExecutionContext();
			const res = await worker.fetch(request, testEnv, ctx);
			await waitOnExecutionContext(ctx);
			statuses.push(res.status);
			if (res.status === 429) expect(res.headers.get("Retry-After")).toBe("60");
			await res.arrayBuffer();
		}
		expect(keys).toEqual(Array(5).fill("auth:unknown"));
		expect(statuses).toEqual([204, 204, 204, 429, 429]);
	});
});

describe("POST /auth/refresh", () => {
	it("rotates: returns a new pair and spends the old refresh token, in one round trip", async () => {
		const user = await registerAndLogIn();
		const res = await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } });
		expect(res.status).toBe(200);
		expect(res.body.refresh_token).not.toBe(user.refreshToken);
		expect(d1RoundTrips(res)).toBe(1);
		const me = await api("GET", "/users/me", { token: res.body.access_token });
		expect(me.body.id).toBe(user.id);
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
	});

	it("revokes the whole family when a spent token is presented again", async () => {
		const user = await registerAndLogIn();
		const rotated = await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } });
		const replay = await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } });
		expectError(replay, 401, "AUTH_INVALID_TOKEN");
		// The legitimate successor is revoked too: the leaked family is dead.
		const successor = await api("POST", "/auth/refresh", {
			body: { refresh_token: rotated.body.refresh_token },
		});
		expectError(successor, 401, "AUTH_INVALID_TOKEN");
	});

	it("lets exactly one of five concurrent refreshes of one token succeed", async () => {
		const user = await registerAndLogIn();
		const results = await Promise.all(
			Array.from({ length: 5 }, () =>
				api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } }),
			),
		);
		expect(results.filter((r) => r.status === 200)).toHaveLength(1);
		for (const loser of results.filter((r) => r.status !== 200))
			expectError(loser, 401, "AUTH_INVALID_TOKEN");
	});

	it("refuses unknown, expired and deactivated users' tokens", async () => {
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: "not-a-real-token" } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		const user = await registerAndLogIn();
		await env.DB.prepare(
			"UPDATE refresh_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE user_id = ?",
		)
			.bind(user.id)
			.run();
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		// Deactivated in D1 without revoking its tokens (the admin route revokes them too): the refresh
		// itself must refuse an inactive user.
		const deactivated = await registerAndLogIn();
		await env.DB.prepare("UPDATE users SET is_active = 0 WHERE id = ?").bind(deactivated.id).run();
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: deactivated.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		const { results } = await env.DB.prepare("SELECT revoked_at FROM refresh_tokens WHERE user_id = ?")
			.bind(deactivated.id)
			.all();
		expect(results).toEqual([{ revoked_at: null }]);
	});
});

describe("POST /auth/logout", () => {
	it("revokes the refresh token (204) and is idempotent", async () => {
		const user = await registerAndLogIn();
		const res = await api("POST", "/auth/logout", { body: { refresh_token: user.refreshToken } });
		expect(res.status).toBe(204);
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		expect((await api("POST", "/auth/logout", { body: { refresh_token: user.refreshToken } })).status).toBe(
			204,
		);
		expect((await api("POST", "/auth/logout", { body: { refresh_token: "never-issued" } })).status).toBe(204);
	});
});

describe("access tokens", () => {
	it("GET /users/me returns the caller in one round trip", async () => {
		const user = await createUser();
		const res = await api("GET", "/users/me", { token: user.token });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ id: user.id, email: user.email, role: "user", is_active: true });
		expect(d1RoundTrips(res)).toBe(1);
	});

	it("answers 401 AUTH_REQUIRED without a token", async () => {
		expectError(await api("GET", "/users/me"), 401, "AUTH_REQUIRED");
	});

	it("refuses forged, tampered, expired and malformed tokens with 401 AUTH_INVALID_TOKEN", async () => {
		const user = await createUser();
		const victim = await createUser();
		const [header, payload, signature] = user.token.split(".");
		const now = Math.floor(Date.now() / 1000);
		const forgeries = {
			algNone: `${b64url({ alg: "none", typ: "JWT" })}.${payload}.`,
			algNoneNoDot: `${b64url({ alg: "none", typ: "JWT" })}.${payload}`,
			// The user's signature on a payload naming another user.
			tamperedSub: `${header}.${b64url({ ...decodePart(payload as string), sub: String(victim.id) })}.${signature}`,
			wrongSecret: await sign(
				{ sub: String(user.id), iat: now, exp: now + 900 },
				"another-secret-of-32-characters!!",
			),
			expired: await sign({ sub: String(user.id), iat: now - 1000, exp: now - 100 }, env.JWT_SECRET),
			hs512: await sign({ sub: String(user.id), iat: now, exp: now + 900 }, env.JWT_SECRET, "HS512"),
			noExpiry: await sign({ sub: String(user.id), iat: now }, env.JWT_SECRET),
			unknownUser: await sign({ sub: "999999", iat: now, exp: now + 900 }, env.JWT_SECRET),
			badSub: await sign({ sub: "1 OR 1=1", iat: now, exp: now + 900 }, env.JWT_SECRET),
			garbage: "garbage",
		};
		for (const [name, token] of Object.entries(forgeries)) {
			const res = await api("GET", "/users/me", { token });
			expect({ name, status: res.status, code: res.body.code }).toEqual({
				name,
				status: 401,
				code: "AUTH_INVALID_TOKEN",
			});
		}
		const basic = await api("GET", "/users/me", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
		expectError(basic, 401, "AUTH_INVALID_TOKEN");
	});

	it("refuses a token it accepted before once it expires, and the same claims under another signature", async () => {
		const user = await createUser();
		// Accepted (and kept as verified by this isolate: src/lib/tokens.ts).
		expect((await api("GET", "/users/me", { token: user.token })).status).toBe(200);
		const [header, payload] = user.token.split(".");
		const claims = decodePart(payload as string);
		const otherSecret = await sign(claims, "another-secret-of-32-characters!!");
		expect(otherSecret.startsWith(`${header}.${payload}.`)).toBe(true);
		expectError(await api("GET", "/users/me", { token: otherSecret }), 401, "AUTH_INVALID_TOKEN");
		expect((await api("GET", "/users/me", { token: user.token })).status).toBe(200);
		// The second its `exp` is reached.
		vi.spyOn(Date, "now").mockReturnValue(claims.exp * 1000);
		expectError(await api("GET", "/users/me", { token: user.token }), 401, "AUTH_INVALID_TOKEN");
	});

	it("refuses a deactivated user's unexpired token with 403 and revokes its refresh tokens", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		// Accepted before: the token stays valid, the caller guard refuses its caller.
		expect((await api("GET", "/users/me", { token: user.token })).status).toBe(200);
		const deactivate = await api("PATCH", `/admin/users/${user.id}`, {
			token: admin.token,
			body: { is_active: false },
		});
		expect(deactivate.body.is_active).toBe(false);
		expectError(await api("GET", "/users/me", { token: user.token }), 403, "AUTH_ACCOUNT_DEACTIVATED");
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		const { results } = await env.DB.prepare("SELECT revoked_at FROM refresh_tokens WHERE user_id = ?")
			.bind(user.id)
			.all();
		expect(results.every((row) => row.revoked_at !== null)).toBe(true);
	});
});

describe("housekeeping", () => {
	it("the cron drops login attempts outside the window and expired refresh tokens, keeping live ones", async () => {
		const user = await registerAndLogIn();
		const recent = await registerAndLogIn();
		await api("POST", "/auth/login", { body: { email: user.email, password: "wrong-password" } });
		const cronTime = Date.now() + 16 * 60_000;
		// A failure 5 minutes before the cron runs is still inside the 15-minute window.
		await env.DB.prepare("INSERT INTO login_attempts (email, attempted_at) VALUES (?, ?)")
			.bind(recent.email, new Date(cronTime - 5 * 60_000).toISOString())
			.run();
		await env.DB.prepare(
			"INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES (?, 'old', ?, '2000-01-01T00:00:00.000Z')",
		)
			.bind(user.id, crypto.randomUUID())
			.run();
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: cronTime }), env, ctx);
		await waitOnExecutionContext(ctx);
		const attemptsOf = (email: string) =>
			env.DB.prepare("SELECT count(*) AS n FROM login_attempts WHERE email = ?").bind(email).first("n");
		expect(await attemptsOf(user.email)).toBe(0);
		expect(await attemptsOf(recent.email)).toBe(1);
		const tokens = await env.DB.prepare("SELECT family_id FROM refresh_tokens WHERE user_id = ?")
			.bind(user.id)
			.all();
		expect(tokens.results.map((t) => t.family_id)).not.toContain("old");
		expect(tokens.results).toHaveLength(1);
		expect((await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } })).status).toBe(
			200,
		);
	});
});

describe("the password-attempt group", () => {
	it("is read by name in a batch: the reserved slot, then 429 with Retry-After once the limit is hit", async () => {
		const { batch, rawQuery } = await import("../src/lib/batch");
		const { createDb } = await import("../src/lib/db");
		const { MAX_FAILED_LOGINS_PER_NETWORK, passwordAttempt } = await import("../src/lib/login-limits");
		const { sql } = await import("drizzle-orm");
		const db = createDb(env.DB);
		const email = uniqueEmail();
		const network = "10.9.8.0/24";
		const slots: number[] = [];
		for (let i = 0; i < MAX_FAILED_LOGINS_PER_NETWORK; i++) {
			const { attempt, recorded } = await batch(db, {
				attempt: passwordAttempt(email, network, new Date()),
				recorded: rawQuery<{ id: number }>(sql`SELECT id FROM login_attempts WHERE email = ${email}`),
			});
			slots.push(attempt.slotId);
			expect(recorded.map((row) => row.id)).toContain(attempt.slotId);
		}
		expect(new Set(slots).size).toBe(MAX_FAILED_LOGINS_PER_NETWORK);
		await expect(batch(db, { attempt: passwordAttempt(email, network, new Date()) })).rejects.toMatchObject({
			code: "RATE_LIMITED",
			extra: { headers: { "Retry-After": expect.stringMatching(/^\d+$/) } },
		});
	});
});
