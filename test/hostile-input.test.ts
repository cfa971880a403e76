import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { restockEmail } from "../src/prebook-emails/templates";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	unique,
	uniqueIsbn,
} from "./helpers";

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe("search: every accepted q works as 'contains' and never answers 500", () => {
	it("finds a long title (D1 refuses LIKE patterns over 50 bytes; the search uses instr)", async () => {
		const admin = await createAdmin();
		const title = `The History of the Decline and Fall of the Roman Empire ${unique("vol")}`;
		const book = await createBook(admin.token, { title });
		const res = await api("GET", `/books?${query({ q: title.toUpperCase() })}`);
		expect(res.status).toBe(200);
		expect(res.body.items.map((b: { id: number }) => b.id)).toEqual([book.id]);
	});

	it("treats %, _ and backslash literally, in any length up to 200, also with multi-byte text", async () => {
		const admin = await createAdmin();
		const marker = unique("pct");
		const literal = await createBook(admin.token, { title: `${marker} 100% of_it \\ ok` });
		await createBook(admin.token, { title: `${marker} 1000 offit ok` });
		for (const q of ["100% of_it \\", "%".repeat(25), "€".repeat(17), "x".repeat(200)]) {
			const res = await api("GET", `/books?${query({ q })}`);
			expect(res.status, q).toBe(200);
		}
		const hits = await api("GET", `/books?${query({ q: "100% of_it \\" })}`);
		expect(hits.body.items.map((b: { id: number }) => b.id)).toEqual([literal.id]);
		// Nor is q ever SQL.
		for (const q of ["' OR 1=1 --", '"; DROP TABLE books; --']) {
			const res = await api("GET", `/books?${query({ q })}`);
			expect(res.status, q).toBe(200);
			expect(res.body.items, q).toEqual([]);
		}
		expect((await api("GET", `/books/${literal.id}`)).status).toBe(200);
	});

	it("refuses control characters in q (a NUL used to cut the pattern short and match everything)", async () => {
		for (const q of ["\u0000", "a\u0000b", "line\nbreak", "tab\there"]) {
			const res = await api("GET", `/books?${query({ q })}`);
			expectError(res, 422, "VALIDATION_ERROR", "q");
		}
		expectError(await api("GET", `/books?${query({ q: "x".repeat(201) })}`), 422, "VALIDATION_ERROR", "q");
	});

	it("searches users by any part of the email, also past 50 bytes (admin)", async () => {
		const admin = await createAdmin();
		const local = `a-very-long-local-part-${crypto.randomUUID()}`;
		const user = await createUser({ email: `${local}@example.com` });
		const res = await api("GET", `/admin/users?${query({ q: `${local}@EXAMPLE` })}`, { token: admin.token });
		expect(res.status).toBe(200);
		expect(res.body.items.map((u: { id: number }) => u.id)).toEqual([user.id]);
		expectError(
			await api("GET", `/admin/users?${query({ q: "\u0000" })}`, { token: admin.token }),
			422,
			"VALIDATION_ERROR",
			"q",
		);
	});
});

describe("text that is not text is refused (422) and text is stored NFC", () => {
	const single: [string, string][] = [
		["lone surrogate", "sur\ud800"],
		["NUL", "nul\u0000byte"],
		["CR/LF", "Title\r\nBcc: victim@example.com"],
		["line separator", "a\u2028b"],
		["DEL", "del\u007f"],
	];

	it("refuses each hostile title, author, genre name and full name, changing nothing", async () => {
		const admin = await createAdmin();
		for (const [label, text] of single) {
			for (const [method, path, body, field] of [
				["POST", "/books", { title: text, author: "A", price: 1 }, "title"],
				["POST", "/books", { title: "T", author: text, price: 1 }, "author"],
				["POST", "/genres", { name: text }, "name"],
				[
					"POST",
					"/auth/register/complete",
					{ token: unique("t"), password: "long enough", full_name: text },
					"full_name",
				],
			] as const) {
				const res = await api(method, path, { token: admin.token, body });
				expect(res.status, `${label} in ${field}`).toBe(422);
				expect(res.body.code).toBe("VALIDATION_ERROR");
				expect(res.body.field).toBe(field);
			}
		}
		const stored = await env.DB.prepare(
			"SELECT count(*) AS n FROM books WHERE title LIKE '%sur%' OR instr(title, char(0)) > 0 OR instr(author, char(0)) > 0",
		).first<{ n: number }>();
		expect(stored?.n).toBe(0);
	});

	it("allows line breaks and tabs in a description only, storing CRLF as LF", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token, { description: "Line one\r\nLine two\tTabbed" });
		expect(book.description).toBe("Line one\nLine two\tTabbed");
		expectError(
			await api("POST", "/books", {
				token: admin.token,
				body: { title: "T", author: "A", price: 1, description: "bell\u0007" },
			}),
			422,
			"VALIDATION_ERROR",
			"description",
		);
	});

	it("stores text NFC-normalised: a decomposed é comes back precomposed", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token, { title: `Cafe\u0301 ${unique("nfc")}` });
		expect(book.title.startsWith("Caf\u00e9 ")).toBe(true);
	});

	it("says what is wrong: a 101-character genre name is too long, not 'required'", async () => {
		const admin = await createAdmin();
		const res = await api("POST", "/genres", { token: admin.token, body: { name: "x".repeat(101) } });
		expectError(res, 422, "VALIDATION_ERROR", "name");
		expect(res.body.detail).toBe("name must be at most 100 characters");
		const missing = await api("POST", "/genres", { token: admin.token, body: {} });
		expect(missing.body.detail).toBe("name is required");
	});

	it("never puts a line break in an email header, whatever reaches the mailer", async () => {
		const { emailBindingMailer } = await import("../src/lib/mailer");
		const sent: { subject: string; to: string }[] = [];
		const binding = { send: async (message: { subject: string; to: string }) => void sent.push(message) };
		const email = restockEmail({
			to: "reader@example.com",
			fullName: null,
			bookId: 1,
			title: "Evil\r\nBcc: everyone@example.com",
			priceCents: 100,
			appUrl: "https://shop.example",
			unsubscribe: { prebookUrl: "https://api.example/u/p", allUrl: "https://api.example/u/a" },
		});
		await emailBindingMailer(binding as unknown as SendEmail, "Shop <shop@example.com>").send(email);
		expect(sent[0]?.subject).toBe("Back in stock: Evil Bcc: everyone@example.com");
	});
});

describe("text must show what it is", () => {
	it("refuses one-line text that looks empty: only invisible, default-ignorable or combining characters", async () => {
		const admin = await createAdmin();
		for (const name of ["\u00ad", "\u0301", "\u200b\u200d", " \u00ad ", "\ufe0f", "\u2060\u034f"]) {
			const res = await api("POST", "/genres", { token: admin.token, body: { name } });
			expectError(res, 422, "VALIDATION_ERROR", "name");
			expect(res.body.detail, JSON.stringify(name)).toBe("name must contain a visible character");
		}
		const title = await api("POST", "/books", {
			token: admin.token,
			body: { title: "\u0301", author: "A", price: 1 },
		});
		expectError(title, 422, "VALIDATION_ERROR", "title");
		// Visible text with such characters inside is fine.
		const genre = await api("POST", "/genres", {
			token: admin.token,
			body: { name: `Soft\u00adware ${unique("g")}` },
		});
		expect(genre.status).toBe(201);
	});

	it("refuses bidirectional embeddings, overrides and isolates in names and titles", async () => {
		const admin = await createAdmin();
		for (const text of [
			"\u202eevil",
			"a\u202ab",
			"x\u202c",
			"\u2067x",
			"\u2068x",
			"x\u2069",
			"\u2069\u2066x",
		]) {
			for (const [path, body, field] of [
				["/books", { title: text, author: "A", price: 1 }, "title"],
				["/books", { title: "T", author: text, price: 1 }, "author"],
				["/genres", { name: text }, "name"],
				[
					"/auth/register/complete",
					{ token: unique("b"), password: "long enough", full_name: text },
					"full_name",
				],
			] as const) {
				const res = await api("POST", path, { token: admin.token, body });
				expectError(res, 422, "VALIDATION_ERROR", field);
				expect(res.body.detail).toBe(
					`${field} must not contain bidirectional overrides (U+202A–U+202E) or unbalanced isolates (U+2066–U+2069)`,
				);
			}
		}
		// Right-to-left text itself, the implicit marks, and balanced isolates (how Unicode says to wrap text
		// of the other direction) are text.
		const book = await createBook(admin.token, { title: `\u05e9\u05dc\u05d5\u05dd\u200f ${unique("rtl")}` });
		expect(book.title.startsWith("\u05e9\u05dc\u05d5\u05dd\u200f")).toBe(true);
		const isolated = await createBook(admin.token, {
			title: `Book \u2068\u0645\u0631\u062d\u0628\u0627\u2069 ${unique("fsi")}`,
		});
		expect(isolated.title).toContain("\u2068\u0645\u0631\u062d\u0628\u0627\u2069");
	});

	it("refuses query text that is not UTF-8, like the same text in a JSON body (422 naming the parameter)", async () => {
		const admin = await createAdmin();
		for (const [query, field] of [
			["q=%ff", "q"],
			["q=%ED%A0%80", "q"],
			["author=%C0%AF", "author"],
			["limit=10&q=ok%E2%82", "q"],
		]) {
			const res = await api("GET", `/books?${query}`);
			expectError(res, 422, "VALIDATION_ERROR", field);
			expect(res.body.detail).toBe(`${field} must be valid Unicode text (percent-encoded UTF-8)`);
		}
		expectError(await api("GET", "/admin/users?q=%ff", { token: admin.token }), 422, "VALIDATION_ERROR", "q");
		// A literal percent sign, encoded or bare (as the URL standard reads "100%"), is text.
		expect((await api("GET", "/books?q=%25ff")).status).toBe(200);
		for (const query of ["q=100%", "q=50%off", "q=%zz"])
			expect((await api("GET", `/books?${query}`)).status, query).toBe(200);
		// A parameter the route does not read is never judged (a tracking parameter in Latin-1).
		expect((await api("GET", "/books?utm_source=caf%E9")).status).toBe(200);
		expect((await api("GET", `/books?q=${encodeURIComponent("€ 𝄞")}`)).status).toBe(200);
	});
});

describe("addresses that cannot be delivered are refused (422)", () => {
	it("a local part over 64 characters, a domain label of 64 or more, or a label starting or ending with '-'", async () => {
		const login = (email: string) =>
			api("POST", "/auth/login", { body: { email, password: "whatever-password" } });
		for (const email of [
			`${"a".repeat(65)}@example.com`,
			`reader@${"b".repeat(64)}.example.com`,
			`reader@example.${"c".repeat(64)}`,
			"reader@bad-.example.com",
			"reader@-bad.example.com",
			"reader@example-.com",
		]) {
			const res = await login(email);
			expectError(res, 422, "VALIDATION_ERROR", "email");
			expect(res.body.detail, email).toMatch(/^email /);
		}
		// At the limits, and with inner hyphens, an address is fine (an unknown one: 401).
		for (const email of [
			`${"a".repeat(64)}@example.com`,
			`reader@${"b".repeat(63)}.example.com`,
			"reader@ex-am--ple.co-op.example",
		]) {
			expectError(await login(email), 401, "AUTH_INVALID_CREDENTIALS");
		}
	});
});

describe("things that are the same are one", () => {
	it("genres compare after NFKC and case folding (409 GENRE_NAME_CONFLICT)", async () => {
		const admin = await createAdmin();
		const tag = crypto.randomUUID().slice(0, 8);
		const pairs: [string, string][] = [
			[`Ästhetik ${tag}`, `ästhetik ${tag}`],
			[`Café ${tag}`, `Cafe\u0301 ${tag}`],
			[`Fiction ${tag}`, `ＦＩＣＴＩＯＮ ${tag}`],
		];
		for (const [first, second] of pairs) {
			expect((await api("POST", "/genres", { token: admin.token, body: { name: first } })).status).toBe(201);
			expectError(
				await api("POST", "/genres", { token: admin.token, body: { name: second } }),
				409,
				"GENRE_NAME_CONFLICT",
				"name",
			);
		}
	});

	it("an ISBN-10 and the ISBN-13 of one book are one ISBN (stored as ISBN-13)", async () => {
		const admin = await createAdmin();
		await env.DB.prepare("DELETE FROM books WHERE isbn IN ('9780306406157', '0306406152')").run();
		const first = await createBook(admin.token, { isbn: "0-306-40615-2" });
		expect(first.isbn).toBe("9780306406157");
		expectError(
			await api("POST", "/books", {
				token: admin.token,
				body: { title: "Dup", author: "A", price: 1, isbn: "978-0-306-40615-7" },
			}),
			409,
			"BOOK_ISBN_CONFLICT",
			"isbn",
		);
		const other = await createBook(admin.token, { isbn: uniqueIsbn() });
		expectError(
			await api("PATCH", `/books/${other.id}`, { token: admin.token, body: { isbn: "0306406152" } }),
			409,
			"BOOK_ISBN_CONFLICT",
			"isbn",
		);
	});
});

describe("caching and timing headers", () => {
	it("responses with tokens or one user's data say Cache-Control: no-store", async () => {
		const user = await createUser();
		const login = await api("POST", "/auth/login", {
			body: { email: user.email, password: "correct horse battery" },
		});
		expect(login.headers.get("Cache-Control")).toBe("no-store");
		for (const path of ["/users/me", "/prebooks", "/wishlist", "/cart", "/orders"]) {
			const res = await api("GET", path, { token: user.token });
			expect(res.headers.get("Cache-Control"), path).toBe("no-store");
		}
	});

	it("Server-Timing has its d1 entry on 413 responses and CORS preflights", async () => {
		const big = await api("POST", "/auth/login", { rawBody: JSON.stringify({ pad: "x".repeat(70_000) }) });
		expect(big.status).toBe(413);
		expect(d1RoundTrips(big)).toBe(0);
		const preflight = await api("OPTIONS", "/books", {
			headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
		});
		expect(preflight.status).toBe(204);
		expect(d1RoundTrips(preflight)).toBe(0);
	});
});

describe("bodies that are not UTF-8", () => {
	it("are refused (400 MALFORMED_BODY) instead of being stored as replacement characters", async () => {
		const admin = await createAdmin();
		const bytes = new TextEncoder().encode(JSON.stringify({ title: "Caf_", author: "A", price: 1 }));
		bytes[bytes.indexOf("_".charCodeAt(0))] = 0xe9; // a Latin-1 é: not UTF-8
		const res = await api("POST", "/books", { token: admin.token, rawBody: bytes });
		expectError(res, 400, "MALFORMED_BODY");
		expect(res.body.detail).toBe("Request body is not valid UTF-8");
		const stored = await env.DB.prepare(
			"SELECT count(*) AS n FROM books WHERE title = 'Caf' || char(65533)",
		).first<{
			n: number;
		}>();
		expect(stored?.n).toBe(0);
	});
});
