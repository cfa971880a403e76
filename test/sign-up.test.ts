/**
 * Email-first accounts (API.md, Auth: "Email first", the per-address caps; Operations: emailed links open
 * pages). Nobody can squat an address or become admin by registering first: the account exists only once
 * the owner of the address has followed the emailed link and chosen the password there. Password reset ends
 * every session. The email provider is the stubbed EMAIL binding (test/setup.ts).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	emailedLinkToken,
	expectError,
	newNetwork,
	PASSWORD,
	runCron,
	type SentEmail,
	sentEmails,
	uniqueEmail,
} from "./helpers";
import { expectInvariants } from "./invariants";

const NEW_PASSWORD = "a brand new passphrase";

/** What the app emailed to `to` during this test. */
const emailsTo = (to: string) => sentEmails<SentEmail>().filter((e) => e.to === to);

/** Every `path` link token emailed to `to` in this test, oldest first. */
const linkTokens = (to: string, path: string) =>
	emailsTo(to).flatMap((e) =>
		[...e.text.matchAll(new RegExp(`${path}\\?token=([\\w-]+)`, "g"))].map((m) => m[1]),
	);

const register = (email: string, headers: Record<string, string> = {}) =>
	api("POST", "/auth/register", { body: { email }, headers });
const forgot = (email: string, headers: Record<string, string> = {}) =>
	api("POST", "/auth/password/forgot", { body: { email }, headers });
const complete = (token: string, password = PASSWORD, fullName?: string) =>
	api("POST", "/auth/register/complete", { body: { token, password, full_name: fullName } });
const reset = (token: string, password = NEW_PASSWORD) =>
	api("POST", "/auth/password/reset", { body: { token, password } });
const logIn = (email: string, password: string) => api("POST", "/auth/login", { body: { email, password } });

/** A sign-up through the routes: the link emailed to `email`, completed with `password`. */
async function signUp(email: string, password = PASSWORD, fullName?: string) {
	expect((await register(email)).status).toBe(202);
	const res = await complete(emailedLinkToken(email, "/signup"), password, fullName);
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body as { access_token: string; refresh_token: string; user: { id: number; role: string } };
}

/** A guest account with a pre-booking (the guest flow, confirmed), as a stranger to the store makes one. */
async function confirmedGuest() {
	const admin = await createUser({ role: "admin" });
	const book = await createBook(admin.token, { stock_quantity: 0 });
	const email = uniqueEmail("guest");
	await api("POST", "/prebooks/guest", { body: { email, book_id: book.id } });
	const confirmed = await api("POST", "/prebooks/guest/confirm", {
		body: { token: emailedLinkToken(email, "/prebooks/confirm") },
	});
	expect(confirmed.status).toBe(201);
	const guest = await env.DB.prepare("SELECT id FROM users WHERE email = ?")
		.bind(email)
		.first<{ id: number }>();
	return { email, book, guestId: guest?.id as number };
}

const accountOf = (email: string) =>
	env.DB.prepare("SELECT id, role, email_verified, is_guest, full_name FROM users WHERE email = ?")
		.bind(email)
		.first();

describe("POST /auth/register makes no account: it emails the address", () => {
	it("answers the same 202 in one round trip for a new address, a registered one, a guest's and a legacy unverified one", async () => {
		const fresh = uniqueEmail("fresh");
		const registered = await createUser();
		const legacy = await createUser({ verified: false });
		const { email: guest } = await confirmedGuest();
		const answers = [];
		for (const email of [`  ${fresh.toUpperCase()} `, registered.email, guest, legacy.email]) {
			const res = await register(email);
			expect(res.status, email).toBe(202);
			expect(d1RoundTrips(res), email).toBe(1);
			const { request_id: _, ...body } = res.body;
			answers.push(body);
		}
		expect(answers).toEqual(Array(4).fill({ status: "verification_sent" }));
		// No account before the link is followed.
		expect(await accountOf(fresh)).toBeNull();
		// The new address, the guest's and the legacy account's get a link to finish signing up…
		for (const email of [fresh, guest, legacy.email]) {
			const sent = emailsTo(email).at(-1);
			expect(sent?.subject, email).toBe("Finish signing up");
			expect(sent?.text).toContain("http://localhost:8787/signup?token=");
			expect(sent?.headers).toMatchObject({ "Auto-Submitted": "auto-generated" });
		}
		// …the registered one a note saying so, with a link to reset the password instead.
		const [note] = emailsTo(registered.email);
		expect(note?.subject).toBe("You already have an account");
		expect(note?.text).toContain("http://localhost:8787/reset-password?token=");
		expect(note?.text).not.toContain("/signup");
	});

	it("a guest's sign-up email speaks the language the guest account keeps, whatever the request says", async () => {
		const admin = await createUser({ role: "admin" });
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const email = uniqueEmail("gast");
		const german = { "Accept-Language": "de" };
		await api("POST", "/prebooks/guest", { body: { email, book_id: book.id }, headers: german });
		const confirmed = await api("POST", "/prebooks/guest/confirm", {
			body: { token: emailedLinkToken(email, "/prebooks/confirm") },
		});
		expect(confirmed.status).toBe(201);

		expect((await register(email)).status).toBe(202);
		expect(emailsTo(email).at(-1)?.subject).toBe("Registrierung abschließen");
		expect((await register(email, { "Accept-Language": "fr" })).status).toBe(202);
		expect(emailsTo(email).at(-1)?.subject).toBe("Registrierung abschließen");
	});

	it("a stranger who registers an ADMIN_EMAILS address gets nothing; the link its owner follows makes the admin", async () => {
		const stranger = { "CF-Connecting-IP": "203.0.113.66" };
		expect((await register("Boss@Example.com", stranger)).status).toBe(202);
		expect(await accountOf("boss@example.com")).toBeNull();
		// No password of the stranger's opens anything, and no made-up link finishes the sign-up.
		expectError(await logIn("boss@example.com", PASSWORD), 401, "AUTH_INVALID_CREDENTIALS");
		expectError(await complete("a-token-the-stranger-made-up"), 400, "AUTH_INVALID_TOKEN", "token");
		expect(await accountOf("boss@example.com")).toBeNull();

		// The link went to the mailbox; its owner finishes, verified and admin.
		const owner = await complete(emailedLinkToken("boss@example.com", "/signup"), NEW_PASSWORD, "The Boss");
		expect(owner.status).toBe(201);
		expect(owner.body.user).toMatchObject({
			email: "boss@example.com",
			full_name: "The Boss",
			role: "admin",
			email_verified: true,
		});
		expect((await api("GET", "/admin/users", { token: owner.body.access_token })).status).toBe(200);
		expect((await logIn("boss@example.com", NEW_PASSWORD)).status).toBe(200);
	});
});

describe("POST /auth/register/complete", () => {
	it("gives the new account the language its browser asks for (Accept-Language), else English", async () => {
		const email = uniqueEmail("sprache");
		await register(email);
		const res = await api("POST", "/auth/register/complete", {
			body: { token: emailedLinkToken(email, "/signup"), password: PASSWORD },
			headers: { "Accept-Language": "de-DE,de;q=0.9,en;q=0.8" },
		});
		expect(res.status).toBe(201);
		const preferences = await api("GET", "/users/me/preferences", { token: res.body.access_token });
		expect(preferences.body).toMatchObject({ locale: "de", time_zone: "UTC" });
	});

	it("makes the account, verified, signed in, in one round trip; the link works once", async () => {
		const email = uniqueEmail("complete");
		await register(email);
		const token = emailedLinkToken(email, "/signup");
		const res = await complete(token, PASSWORD, "Ada Reader");
		expect(res.status).toBe(201);
		expect(d1RoundTrips(res)).toBe(1);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(res.body).toEqual({
			access_token: expect.any(String),
			refresh_token: expect.stringMatching(/^[\w-]{43}$/),
			token_type: "bearer",
			expires_in: 900,
			user: {
				id: expect.any(Number),
				email,
				full_name: "Ada Reader",
				role: "user",
				is_active: true,
				email_verified: true,
				created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
			},
		});
		expect((await api("GET", "/users/me", { token: res.body.access_token })).body.id).toBe(res.body.user.id);
		expect(
			(await api("POST", "/auth/refresh", { body: { refresh_token: res.body.refresh_token } })).status,
		).toBe(200);
		expect((await logIn(email, PASSWORD)).status).toBe(200);
		expectError(await complete(token, "another password"), 400, "AUTH_INVALID_TOKEN", "token");
		expect((await logIn(email, "another password")).status).toBe(401);
	});

	it("refuses unknown, tampered and expired (24 hours) links with 400, making nothing", async () => {
		const email = uniqueEmail("expired");
		await register(email);
		const token = emailedLinkToken(email, "/signup");
		const tampered = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
		for (const bad of ["unknown-token", tampered])
			expectError(await complete(bad), 400, "AUTH_INVALID_TOKEN", "token");
		const lifetime = await env.DB.prepare(
			"SELECT (julianday(expires_at) - julianday(created_at)) * 24 AS hours FROM email_tokens WHERE email = ?",
		)
			.bind(email)
			.first<{ hours: number }>();
		expect(lifetime?.hours).toBeCloseTo(24, 3);
		await env.DB.prepare(
			"UPDATE email_tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 second') WHERE email = ?",
		)
			.bind(email)
			.run();
		expectError(await complete(token), 400, "AUTH_INVALID_TOKEN", "token");
		expect(await accountOf(email)).toBeNull();
	});

	it("a guest account becomes a full account and keeps its pre-bookings", async () => {
		const { email, book, guestId } = await confirmedGuest();
		expectError(await logIn(email, PASSWORD), 401, "AUTH_INVALID_CREDENTIALS");
		const signedUp = await signUp(email, PASSWORD, "Former Guest");
		expect(signedUp.user).toMatchObject({
			id: guestId,
			email,
			full_name: "Former Guest",
			email_verified: true,
		});
		expect(await accountOf(email)).toMatchObject({ is_guest: 0, email_verified: 1 });
		const mine = await api("GET", "/prebooks", { token: signedUp.access_token });
		expect(mine.body.items.map((p: { book_id: number }) => p.book_id)).toEqual([book.id]);
		expect((await logIn(email, PASSWORD)).status).toBe(200);
	});

	it("replaces a legacy unverified account (never admin, even listed): new password, its tokens end; admin once completed", async () => {
		// Registered before sign-up was email-first, unverified, at an address listed in ADMIN_EMAILS.
		const legacy = await createUser({ email: "admin@bookstore.local", verified: false });
		expectError(await api("GET", "/admin/users", { token: legacy.token }), 403, "AUTH_FORBIDDEN");
		expect((await logIn(legacy.email, PASSWORD)).status).toBe(200);

		const owner = await signUp(legacy.email, NEW_PASSWORD);
		expect(owner.user).toMatchObject({ id: legacy.id, role: "admin", email_verified: true });
		expectError(await api("GET", "/users/me", { token: legacy.token }), 401, "AUTH_INVALID_TOKEN");
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: legacy.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		expectError(await logIn(legacy.email, PASSWORD), 401, "AUTH_INVALID_CREDENTIALS");
		expect((await logIn(legacy.email, NEW_PASSWORD)).status).toBe(200);
		expect((await api("GET", "/admin/users", { token: owner.access_token })).status).toBe(200);
	});

	it("the address's owner inherits nothing of a legacy account's holder's sign-ins: networks, links, sessions", async () => {
		const legacy = await createUser({ verified: false });
		const holder = { "CF-Connecting-IP": "198.51.100.77" };
		expect(
			(
				await api("POST", "/auth/login", {
					body: { email: legacy.email, password: PASSWORD },
					headers: holder,
				})
			).status,
		).toBe(200);
		await api("POST", "/auth/password/forgot", { body: { email: legacy.email }, headers: holder });
		const owner = await signUp(legacy.email, NEW_PASSWORD);
		const exported = (await api("GET", "/users/me/export", { token: owner.access_token })).body;
		expect(JSON.stringify(exported)).not.toContain("198.51.100.77");
		expect(exported.email_links.map((link: { purpose: string }) => link.purpose)).toEqual(["sign_up"]);
		// The owner's own session (the sign-up signed them in), none of the holder's.
		expect(exported.sessions).toHaveLength(1);
	});

	it("nor does an owner who takes the address back by a reset: the holder's sessions and networks go", async () => {
		const legacy = await createUser({ verified: false });
		const holder = { "CF-Connecting-IP": "198.51.100.78" };
		const signedIn = await api("POST", "/auth/login", {
			body: { email: legacy.email, password: PASSWORD },
			headers: holder,
		});
		expect(signedIn.status).toBe(200);
		await forgot(legacy.email);
		expect((await reset(emailedLinkToken(legacy.email, "/reset-password"))).status).toBe(204);
		const owner = await logIn(legacy.email, NEW_PASSWORD);
		const exported = (await api("GET", "/users/me/export", { token: owner.body.access_token })).body;
		expect(JSON.stringify(exported)).not.toContain("198.51.100.78");
		expect(exported.sessions).toHaveLength(1);
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: signedIn.body.refresh_token } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
	});

	it("a deactivated guest's address cannot be completed (403), and nothing changes", async () => {
		const { email, guestId } = await confirmedGuest();
		await env.DB.prepare("UPDATE users SET is_active = 0 WHERE id = ?").bind(guestId).run();
		await register(email);
		const token = emailedLinkToken(email, "/signup");
		expectError(await complete(token), 403, "AUTH_ACCOUNT_DEACTIVATED");
		expect(await accountOf(email)).toMatchObject({ is_guest: 1 });
		expectError(await logIn(email, PASSWORD), 401, "AUTH_INVALID_CREDENTIALS");
		// The link is spent all the same.
		expectError(await complete(token), 400, "AUTH_INVALID_TOKEN");
	});

	it("several links may be out at once: the first completed spends the others (400)", async () => {
		const email = uniqueEmail("twice");
		await register(email);
		await register(email);
		const [first, second] = linkTokens(email, "/signup");
		expect(first && second && first !== second).toBe(true);
		expect((await complete(second as string, "second password")).status).toBe(201);
		const late = await complete(first as string, "first password");
		expectError(late, 400, "AUTH_INVALID_TOKEN", "token");
		expect((await logIn(email, "second password")).status).toBe(200);
		expect((await logIn(email, "first password")).status).toBe(401);
	});

	it("a link of an address that completed a password reset meanwhile answers 400 and changes nothing", async () => {
		const legacy = await createUser({ verified: false });
		await register(legacy.email);
		await forgot(legacy.email);
		expect((await reset(emailedLinkToken(legacy.email, "/reset-password"))).status).toBe(204);
		const late = await complete(emailedLinkToken(legacy.email, "/signup"), "a squatter's password");
		expectError(late, 400, "AUTH_INVALID_TOKEN", "token");
		expect(late.body.detail).toContain("meanwhile");
		expect((await logIn(legacy.email, NEW_PASSWORD)).status).toBe(200);
	});

	it("two parallel completions of two links for one address: one 201, one 400, one account", async () => {
		// A store has an admin (an invariant checked below), whichever test of the file ran first.
		await createAdmin();
		for (let round = 0; round < 6; round++) {
			// A new address, then a guest's (the completion takes the guest account over).
			const email = round % 2 === 0 ? uniqueEmail("race") : (await confirmedGuest()).email;
			await register(email, { "CF-Connecting-IP": newNetwork() });
			await register(email, { "CF-Connecting-IP": newNetwork() });
			const tokens = linkTokens(email, "/signup");
			expect(tokens).toHaveLength(2);
			const answers = await Promise.all(
				tokens.map((token, i) =>
					api("POST", "/auth/register/complete", {
						headers: { "CF-Connecting-IP": newNetwork() },
						body: { token, password: `password number ${i}` },
					}),
				),
			);
			expect(answers.map((res) => res.status).sort()).toEqual([201, 400]);
			const loser = answers.find((res) => res.status === 400);
			expectError(loser as never, 400, "AUTH_INVALID_TOKEN", "token");
			const winner = answers.findIndex((res) => res.status === 201);
			const state = await env.DB.prepare(
				`SELECT (SELECT count(*) FROM users WHERE email = ?1) AS accounts,
					(SELECT count(*) FROM users WHERE email = ?1 AND email_verified = 1 AND is_guest = 0) AS verified,
					(SELECT count(*) FROM refresh_tokens WHERE user_id = (SELECT id FROM users WHERE email = ?1)) AS sessions,
					(SELECT count(*) FROM email_tokens WHERE email = ?1 AND purpose = 'sign_up' AND used_at IS NULL) AS live_links`,
			)
				.bind(email)
				.first();
			expect(state).toEqual({ accounts: 1, verified: 1, sessions: 1, live_links: 0 });
			expect((await logIn(email, `password number ${winner}`)).status).toBe(200);
			expect((await logIn(email, `password number ${1 - winner}`)).status).toBe(401);
			await expectInvariants();
		}
	});
});

describe("password reset", () => {
	it("POST /auth/password/forgot answers the same 202 in one round trip whatever the address; only an account with a password is emailed", async () => {
		const member = await createUser();
		const legacy = await createUser({ verified: false });
		const { email: guest } = await confirmedGuest();
		const unknown = uniqueEmail("unknown");
		const answers = [];
		for (const email of [member.email, legacy.email, guest, unknown]) {
			const res = await forgot(email);
			expect(res.status, email).toBe(202);
			expect(d1RoundTrips(res), email).toBe(1);
			const { request_id: _, ...body } = res.body;
			answers.push(body);
		}
		expect(answers).toEqual(Array(4).fill({ status: "reset_sent" }));
		for (const email of [member.email, legacy.email]) {
			const [sent] = emailsTo(email);
			expect(sent?.subject).toBe("Reset your password");
			expect(sent?.text).toContain("http://localhost:8787/reset-password?token=");
		}
		expect(emailsTo(guest).filter((e) => e.subject === "Reset your password")).toEqual([]);
		expect(emailsTo(unknown)).toEqual([]);
		const lifetime = await env.DB.prepare(
			"SELECT (julianday(expires_at) - julianday(created_at)) * 24 AS hours FROM email_tokens WHERE email = ?",
		)
			.bind(member.email)
			.first<{ hours: number }>();
		expect(lifetime?.hours).toBeCloseTo(1, 3);
	});

	it("the answer never waits for the email: register and forgot answer while the provider is still sending", async () => {
		const member = await createUser();
		let release = () => {};
		const send = vi.spyOn(env.EMAIL, "send");
		for (const [path, email] of [
			["/auth/register", uniqueEmail("slow")],
			["/auth/register", member.email],
			["/auth/password/forgot", member.email],
		] as const) {
			// The provider takes until `release()`.
			const sending = new Promise<void>((resolve) => {
				release = resolve;
			});
			send.mockClear();
			send.mockImplementation(async () => {
				await sending;
				return { messageId: "slow" };
			});
			const ctx = createExecutionContext();
			const request = new Request(`https://api.test${path}`, {
				method: "POST",
				headers: { "Content-Type": "application/json", "CF-Connecting-IP": newNetwork() },
				body: JSON.stringify({ email }),
			});
			const answered = await Promise.race([
				worker.fetch(request, env, ctx),
				new Promise<"waited">((resolve) => setTimeout(() => resolve("waited"), 2000)),
			]);
			expect(answered === "waited" ? "waited" : answered.status, path).toBe(202);
			expect(send, path).toHaveBeenCalledTimes(1);
			release();
			await waitOnExecutionContext(ctx);
		}
	});

	it("a reset sets the password and ends every session and access token, in one round trip; the link works once", async () => {
		const member = await createUser();
		const elsewhere = await logIn(member.email, PASSWORD);
		await forgot(member.email);
		await forgot(member.email);
		const [older, newer] = linkTokens(member.email, "/reset-password");
		const res = await reset(newer as string);
		expect(res.status).toBe(204);
		expect(d1RoundTrips(res)).toBe(1);
		for (const token of [member.token, elsewhere.body.access_token])
			expectError(await api("GET", "/users/me", { token }), 401, "AUTH_INVALID_TOKEN");
		for (const refreshToken of [member.refreshToken, elsewhere.body.refresh_token])
			expectError(
				await api("POST", "/auth/refresh", { body: { refresh_token: refreshToken } }),
				401,
				"AUTH_INVALID_TOKEN",
			);
		expectError(await logIn(member.email, PASSWORD), 401, "AUTH_INVALID_CREDENTIALS");
		expect((await logIn(member.email, NEW_PASSWORD)).status).toBe(200);
		// Used, and the account's other reset link went with it.
		for (const token of [newer, older, "unknown-token"])
			expectError(await reset(token as string, "yet another password"), 400, "AUTH_INVALID_TOKEN", "token");
		expect((await logIn(member.email, NEW_PASSWORD)).status).toBe(200);
	});

	it("a reset link expires after an hour", async () => {
		const member = await createUser();
		await forgot(member.email);
		await env.DB.prepare(
			"UPDATE email_tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 second') WHERE email = ?",
		)
			.bind(member.email)
			.run();
		expectError(await reset(emailedLinkToken(member.email, "/reset-password")), 400, "AUTH_INVALID_TOKEN");
		expect((await logIn(member.email, PASSWORD)).status).toBe(200);
	});

	it("the 'you already have an account' note's link resets the password too", async () => {
		const member = await createUser();
		await register(member.email);
		expect((await reset(emailedLinkToken(member.email, "/reset-password"))).status).toBe(204);
		expect((await logIn(member.email, NEW_PASSWORD)).status).toBe(200);
		expectError(await api("GET", "/users/me", { token: member.token }), 401, "AUTH_INVALID_TOKEN");
	});

	it("a legacy unverified account's reset verifies it: the mailbox proved the address", async () => {
		const legacy = await createUser({ verified: false });
		await forgot(legacy.email);
		expect((await reset(emailedLinkToken(legacy.email, "/reset-password"))).status).toBe(204);
		expect(await accountOf(legacy.email)).toMatchObject({ email_verified: 1, role: "user" });
	});
});

describe("emails to an address are capped, whoever asks: 3 an hour and 10 a day of each kind", () => {
	/** The links to the address so far were sent `minutes` earlier than recorded. */
	const age = (email: string, minutes: number) =>
		env.DB.prepare(
			"UPDATE email_tokens SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, ?), expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', expires_at, ?) WHERE email = ?",
		)
			.bind(`-${minutes} minutes`, `-${minutes} minutes`, email)
			.run();

	/** Asks `ask` from a new network each time, expecting 202 and these running totals of emails. */
	async function expectCapped(email: string, ask: (headers: Record<string, string>) => Promise<unknown>) {
		const sent = () => emailsTo(email).length;
		const askOnce = async (expected: number) => {
			const res = (await ask({ "CF-Connecting-IP": newNetwork() })) as { status: number };
			expect(res.status).toBe(202);
			expect(sent()).toBe(expected);
		};
		for (const hour of [
			[1, 2, 3, 3],
			[4, 5, 6, 6],
			[7, 8, 9, 9],
		]) {
			for (const expected of hour) await askOnce(expected);
			await age(email, 61);
			// The cron keeps the day's links (expired reset links included): they are the count.
			await runCron();
		}
		// The tenth of the day is sent; then none, although this hour has room.
		await askOnce(10);
		await askOnce(10);
		// A day after the first ones, the address may be emailed again.
		await age(email, 24 * 60 - 3 * 61 + 1);
		await askOnce(11);
	}

	it("sign-up links to a new address", async () => {
		const email = uniqueEmail("bombed");
		await expectCapped(email, (headers) => register(email, headers));
	});

	it("'you already have an account' notes count as sign-up emails", async () => {
		const member = await createUser();
		await expectCapped(member.email, (headers) => register(member.email, headers));
	});

	it("reset links; the kinds are counted apart", async () => {
		const member = await createUser();
		await expectCapped(member.email, (headers) => forgot(member.email, headers));
		// The sign-up kind still has room: the note goes out.
		expect((await register(member.email)).status).toBe(202);
		expect(emailsTo(member.email).at(-1)?.subject).toBe("You already have an account");
	});
});

describe("the pages behind the links (no storefront needed)", () => {
	/** Posts a page's form as a browser does: with the page's hidden language field. */
	const form = (path: string, fields: Record<string, string>) =>
		api("POST", path, {
			rawBody: new URLSearchParams({ locale: "en", ...fields }).toString(),
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
		});

	it("GET /signup shows the address and a form and changes nothing; the form finishes the sign-up", async () => {
		const email = uniqueEmail("page");
		await register(email);
		const token = emailedLinkToken(email, "/signup");
		for (let i = 0; i < 2; i++) {
			const page = await api("GET", `/signup?token=${token}`);
			expect(page.status).toBe(200);
			expect(page.headers.get("Content-Type")).toContain("text/html");
			expect(page.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
			expect(page.headers.get("Content-Security-Policy")).toContain("form-action 'self'");
			expect(page.body).toContain(email);
			expect(page.body).toContain('<form method="post">');
			expect(page.body).toContain('name="password"');
			expect(d1RoundTrips(page)).toBe(1);
		}
		expect(await accountOf(email)).toBeNull();

		// A password too short: the form again, saying so; the link still works.
		const short = await form(`/signup?token=${token}`, { password: "short", full_name: 'Ada "<b>"' });
		expect(short.status).toBe(422);
		expect(short.headers.get("Content-Type")).toContain("text/html");
		expect(short.body).toContain("password must be 8 to 128 characters");
		// The name typed is kept, as text.
		expect(short.body).toContain('value="Ada &quot;&lt;b&gt;&quot;"');
		expect(await accountOf(email)).toBeNull();

		const done = await form(`/signup?token=${token}`, { password: PASSWORD, full_name: "Page Reader" });
		expect(done.status).toBe(201);
		expect(done.body).toContain("Your account is ready");
		expect(d1RoundTrips(done)).toBe(1);
		expect(await accountOf(email)).toMatchObject({ email_verified: 1, full_name: "Page Reader" });
		expect((await logIn(email, PASSWORD)).status).toBe(200);
		// The page signs nobody in: no session was started.
		const sessions = await env.DB.prepare(
			"SELECT count(*) AS n FROM refresh_tokens WHERE user_id = (SELECT id FROM users WHERE email = ?)",
		)
			.bind(email)
			.first();
		expect(sessions).toEqual({ n: 1 });

		for (const again of [
			await api("GET", `/signup?token=${token}`),
			await form(`/signup?token=${token}`, { password: "x".repeat(9) }),
		]) {
			expect(again.status).toBe(400);
			expect(again.body).toContain("This link cannot be used");
		}
	});

	it("refuses a missing or unknown token with the 400 page, and JSON with 415", async () => {
		for (const path of ["/signup", "/signup?token=nope", "/reset-password", "/reset-password?token=nope"]) {
			const page = await api("GET", path);
			expect(page.status, path).toBe(400);
			expect(page.body).toContain("This link cannot be used");
			const posted = await form(path, { password: PASSWORD });
			expect(posted.status, path).toBe(400);
			expect(posted.headers.get("Content-Type")).toContain("text/html");
		}
		const email = uniqueEmail("json");
		await register(email);
		const json = await api("POST", `/signup?token=${emailedLinkToken(email, "/signup")}`, {
			body: { password: PASSWORD },
		});
		expectError(json, 415, "UNSUPPORTED_MEDIA_TYPE", null);
		expect(await accountOf(email)).toBeNull();
	});

	it("GET /reset-password shows a form and changes nothing; the form sets the password and ends every session", async () => {
		const member = await createUser();
		await forgot(member.email);
		const token = emailedLinkToken(member.email, "/reset-password");
		const page = await api("GET", `/reset-password?token=${token}`);
		expect(page.status).toBe(200);
		expect(page.body).toContain(member.email);
		expect(page.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
		expect((await logIn(member.email, PASSWORD)).status).toBe(200);

		const done = await form(`/reset-password?token=${token}`, { password: NEW_PASSWORD });
		expect(done.status).toBe(200);
		expect(done.body).toContain("Your password is changed");
		expectError(await api("GET", "/users/me", { token: member.token }), 401, "AUTH_INVALID_TOKEN");
		expect((await logIn(member.email, NEW_PASSWORD)).status).toBe(200);
		expect((await form(`/reset-password?token=${token}`, { password: "yet another one" })).status).toBe(400);
	});
});

describe("the verification routes are gone", () => {
	it("POST /auth/verify-email and /auth/verify-email/resend answer 404", async () => {
		const member = await createUser({ verified: false });
		expectError(await api("POST", "/auth/verify-email", { body: { token: "x" } }), 404, "NOT_FOUND");
		expectError(await api("POST", "/auth/verify-email/resend", { token: member.token }), 404, "NOT_FOUND");
	});
});
