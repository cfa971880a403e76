import { env } from "cloudflare:workers";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { books } from "../src/db/schema";
import { clientNetwork } from "../src/lib/client-network";
import { validationError } from "../src/lib/errors";
import { genreKey } from "../src/lib/genre-name";
import { isbn10ToIsbn13, isbn13CheckDigit, normalizeIsbn } from "../src/lib/isbn";
import { containsText } from "../src/lib/sql";
import { codePointLength, multiLineText, searchText, singleLineText } from "../src/lib/text";
import { uniqueIsbn } from "./helpers";

/** The messages a schema gives for `value` as the `field` of an object (as a request body is parsed). */
function problems(schema: z.ZodType, value: unknown, field = "title"): string[] {
	const result = z.object({ [field]: schema }).safeParse(value === undefined ? {} : { [field]: value });
	return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

const title = singleLineText("title", { max: 500 });

describe("single-line text", () => {
	it("trims and stores NFC: a decomposed accent becomes the precomposed character", () => {
		expect(title.parse("  Cafe\u0301 au lait  ")).toBe("Caf\u00e9 au lait");
	});

	it.each([
		["plain text", "Pride and Prejudice"],
		["a no-break space inside", "Tome\u00a0I"],
		["right-to-left script", "\u05e1\u05e4\u05e8"],
		["CJK", "\u5b57\u7bc0\u5f62"],
		["an emoji (a surrogate pair)", "Books \u{1f4da}"],
	])("accepts %s", (_case, value) => {
		expect(title.parse(value)).toBe(value);
	});

	it.each([
		["NUL", "a\u0000b"],
		["TAB", "a\tb"],
		["LF", "a\nb"],
		["CR", "a\rb"],
		["a trailing line break", "Dune\n"],
		["ESC", "a\u001bb"],
		["DEL", "a\u007fb"],
		["NEL (C1)", "a\u0085b"],
		["CSI (C1)", "a\u009bb"],
		["U+2028 LINE SEPARATOR", "a\u2028b"],
		["U+2029 PARAGRAPH SEPARATOR", "a\u2029b"],
	])("refuses %s", (_case, value) => {
		expect(problems(title, value)).toEqual(["title must not contain control characters or line breaks"]);
	});

	it.each([
		["a lone high surrogate", "a\ud800b"],
		["a lone low surrogate", "\udc00"],
		["a reversed pair", "\udc00\ud800"],
	])("refuses %s as invalid Unicode, and says nothing else", (_case, value) => {
		expect(problems(title, value)).toEqual(["title must be valid Unicode text"]);
	});

	it('says "is required" only for a missing value', () => {
		expect(problems(title, undefined)).toEqual(["title is required"]);
		expect(problems(title, null)).toEqual(["title is required"]);
		expect(problems(title, 42)).toEqual(["title must be a string"]);
		expect(problems(title, ["a"])).toEqual(["title must be a string"]);
	});

	it("refuses empty and blank text as empty, not as missing", () => {
		expect(problems(title, "")).toEqual(["title must not be empty"]);
		expect(problems(title, " \u3000 ")).toEqual(["title must not be empty"]);
	});

	it("counts the limit after trimming, in code points", () => {
		const tiny = singleLineText("title", { max: 4 });
		expect(tiny.parse("  abcd  ")).toBe("abcd");
		expect(problems(tiny, "abcde")).toEqual(["title must be at most 4 characters"]);
		// 4 code points, 8 UTF-16 units.
		expect(tiny.parse("\u{1d11e}\u{1d11e}\u{1d11e}\u{1d11e}")).toHaveLength(8);
		expect(problems(tiny, "\u{1d11e}".repeat(5))).toEqual(["title must be at most 4 characters"]);
	});

	it("counts the limit after NFC: e + combining accent is one character", () => {
		const tiny = singleLineText("name", { max: 4 });
		expect(tiny.parse("Cafe\u0301")).toBe("Caf\u00e9");
	});

	it("accepts exactly the maximum and refuses one more", () => {
		expect(title.parse("x".repeat(500))).toHaveLength(500);
		expect(problems(title, "x".repeat(501))).toEqual(["title must be at most 500 characters"]);
	});

	it("names a minimum above 1 as a length", () => {
		const code = singleLineText("code", { min: 3, max: 8 });
		expect(problems(code, "ab", "code")).toEqual(["code must be at least 3 characters"]);
		expect(code.parse("abc")).toBe("abc");
	});

	it("composes with optional and nullish (a PATCH field)", () => {
		const body = z.object({
			title: title.optional(),
			subtitle: singleLineText("subtitle", { max: 10 }).nullish(),
		});
		expect(body.parse({})).toEqual({});
		expect(body.parse({ subtitle: null })).toEqual({ subtitle: null });
		expect(body.safeParse({ title: "a\nb" }).success).toBe(false);
	});

	it("reaches the contract's error body with the field and its message", () => {
		const body = z.object({ title, author: singleLineText("author", { max: 255 }) });
		const result = body.safeParse({ title: "a\u0000", author: "x".repeat(256) });
		expect(result.success).toBe(false);
		if (result.success) return;
		const error = validationError(result.error);
		expect(error.field).toBe("title");
		expect(error.detail).toBe("title must not contain control characters or line breaks");
		expect(error.extra.errors).toEqual([
			{ field: "title", detail: "title must not contain control characters or line breaks" },
			{ field: "author", detail: "author must be at most 255 characters" },
		]);
	});
});

describe("multi-line text", () => {
	const description = multiLineText("description", { max: 10 });

	it("keeps line breaks and tabs, storing CRLF and lone CR as LF", () => {
		expect(description.parse("a\r\nb\rc\n\td")).toBe("a\nb\nc\n\td");
	});

	it("counts the limit after line breaks are normalised", () => {
		expect(description.parse("12345\r\n6789")).toBe("12345\n6789");
	});

	it("trims the ends only", () => {
		expect(multiLineText("description", { max: 100 }).parse("\n  first\n\n  second  \n")).toBe(
			"first\n\n  second",
		);
	});

	it("may be empty by default", () => {
		expect(description.parse("")).toBe("");
		expect(problems(multiLineText("description", { min: 1, max: 10 }), " \n", "description")).toEqual([
			"description must not be empty",
		]);
	});

	it.each([
		["NUL", "a\u0000b"],
		["vertical tab", "a\u000bb"],
		["form feed", "a\u000cb"],
		["DEL", "a\u007fb"],
		["a C1 control", "a\u0090b"],
		["U+2028", "a\u2028b"],
		["U+2029", "a\u2029b"],
	])("refuses %s", (_case, value) => {
		expect(problems(description, value, "description")).toEqual([
			"description must not contain control characters other than line breaks and tabs",
		]);
	});

	it("refuses lone surrogates and stores NFC", () => {
		expect(problems(description, "\ud83d", "description")).toEqual([
			"description must be valid Unicode text",
		]);
		expect(description.parse("A\u030a")).toBe("\u00c5");
	});

	it("names the limit", () => {
		expect(problems(description, "x".repeat(11), "description")).toEqual([
			"description must be at most 10 characters",
		]);
	});
});

describe("search text", () => {
	const q = searchText("q");

	it("accepts 1 to 200 characters, wildcards and all, as literal text", () => {
		expect(q.parse("a")).toBe("a");
		const longest = "50%_off\\".repeat(25);
		expect(q.parse(longest)).toBe(longest);
		expect(problems(q, `${longest}x`, "q")).toEqual(["q must be at most 200 characters"]);
	});

	it("refuses empty and multi-line searches", () => {
		expect(problems(q, "  ", "q")).toEqual(["q must not be empty"]);
		expect(problems(q, "a\r\nb", "q")).toEqual(["q must not contain control characters or line breaks"]);
	});

	it("takes another maximum", () => {
		expect(problems(searchText("q", { max: 3 }), "abcd", "q")).toEqual(["q must be at most 3 characters"]);
	});
});

describe("text schemas in the OpenAPI document", () => {
	it("stay strings with their length limits", () => {
		const app = new OpenAPIHono();
		app.openapi(
			createRoute({
				method: "post",
				path: "/things",
				request: {
					query: z.object({
						q: searchText("q")
							.optional()
							.openapi({ param: { name: "q", in: "query" } }),
					}),
					body: {
						content: {
							"application/json": {
								schema: z.object({
									title,
									description: multiLineText("description", { max: 10_000 }).nullish(),
								}),
							},
						},
					},
				},
				responses: { 204: { description: "Done" } },
			}),
			(c) => c.body(null, 204),
		);
		const document = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
		const operation = document.paths?.["/things"]?.post as any;
		const body = operation.requestBody.content["application/json"].schema;
		expect(body.properties.title).toEqual({ type: "string", minLength: 1, maxLength: 500 });
		expect(body.properties.description).toMatchObject({ type: ["string", "null"], maxLength: 10_000 });
		expect(body.properties.description).not.toHaveProperty("minLength");
		expect(body.required).toEqual(["title"]);
		expect(operation.parameters[0].schema).toEqual({ type: "string", minLength: 1, maxLength: 200 });
	});
});

describe("code point length", () => {
	it("counts a surrogate pair once", () => {
		expect(codePointLength("")).toBe(0);
		expect(codePointLength("abc")).toBe(3);
		expect(codePointLength("\u{1f4da}x")).toBe(2);
	});
});

/** ISBN-10 check digit, computed independently of the module under test. */
function isbn10Of(isbn13: string): string {
	const nine = isbn13.slice(3, 12);
	let sum = 0;
	for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
	const check = (11 - (sum % 11)) % 11;
	return `${nine}${check === 10 ? "X" : check}`;
}

describe("ISBN as ISBN-13", () => {
	it("computes the ISBN-13 check digit", () => {
		expect(isbn13CheckDigit("978030640615")).toBe("7");
		expect(isbn13CheckDigit("979109063607")).toBe("1");
		expect(isbn13CheckDigit("978000000000")).toBe("2");
	});

	it("refuses anything but 12 digits", () => {
		expect(() => isbn13CheckDigit("97803064061")).toThrow(RangeError);
		expect(() => isbn13CheckDigit("9780306406157")).toThrow(RangeError);
		expect(() => isbn13CheckDigit("97803064061X")).toThrow(RangeError);
	});

	it("gives one ISBN-13 for the ISBN-10 and ISBN-13 forms of a book", () => {
		expect(normalizeIsbn("0-306-40615-2")).toBe("9780306406157");
		expect(normalizeIsbn("978-0-306-40615-7")).toBe("9780306406157");
		expect(normalizeIsbn("0 306 40615 2")).toBe("9780306406157");
	});

	it("converts an ISBN-10 ending in X (either case)", () => {
		expect(normalizeIsbn("0-8044-2957-X")).toBe("9780804429573");
		expect(normalizeIsbn("080442957x")).toBe("9780804429573");
	});

	it("keeps a 979 ISBN-13, which has no ISBN-10", () => {
		expect(normalizeIsbn("979-10-90636-07-1")).toBe("9791090636071");
	});

	it("maps every ISBN-10 to the ISBN-13 of the same book", () => {
		for (let n = 0; n < 200; n++) {
			const isbn13 = uniqueIsbn();
			const isbn10 = isbn10Of(isbn13);
			expect(normalizeIsbn(isbn10), isbn10).toBe(isbn13);
			expect(isbn10ToIsbn13(isbn10)).toBe(isbn13);
		}
	});

	it("still answers null for bad checksums and malformed values", () => {
		expect(normalizeIsbn("0-306-40615-3")).toBeNull();
		expect(normalizeIsbn("978-0-306-40615-8")).toBeNull();
		expect(normalizeIsbn("X306406152")).toBeNull();
		expect(normalizeIsbn("03064061522")).toBeNull();
		expect(normalizeIsbn("")).toBeNull();
	});

	it("documents an SQL form of the conversion that agrees with the code", async () => {
		const digit = (n: number) => `CAST(substr(?1, ${n}, 1) AS INTEGER)`;
		const odd = [1, 3, 5, 7, 9].map(digit).join(" + ");
		const even = [2, 4, 6, 8].map(digit).join(" + ");
		const query = `SELECT '978' || substr(?1, 1, 9) || ((10 - (38 + 3 * (${odd}) + (${even})) % 10) % 10) AS isbn13`;
		for (let n = 0; n < 20; n++) {
			const isbn10 = isbn10Of(uniqueIsbn());
			const row = await env.DB.prepare(query).bind(isbn10).first<{ isbn13: string }>();
			expect(row?.isbn13).toBe(isbn10ToIsbn13(isbn10));
		}
	});
});

describe("genre name keys", () => {
	it.each([
		["FICTION"],
		["fiction"],
		["\uff46\uff49\uff43\uff54\uff49\uff4f\uff4e"], // ｆｉｃｔｉｏｎ
		["\uff26\uff29\uff23\uff34\uff29\uff2f\uff2e"], // ＦＩＣＴＩＯＮ
		["\ufb01ction"], // the "ﬁ" ligature
		["Fic\u00adtion"], // soft hyphen
		["Fic\u200btion"], // zero-width space
	])("%j is the genre Fiction", (name) => {
		expect(genreKey(name)).toBe(genreKey("Fiction"));
		expect(genreKey(name)).toBe("fiction");
	});

	it("compares accents composed or not", () => {
		expect(genreKey("Caf\u00e9")).toBe(genreKey("Cafe\u0301"));
		expect(genreKey("CAF\u00c9")).toBe(genreKey("Cafe\u0301"));
		expect(genreKey("\u00c4sthetik")).toBe(genreKey("\u00e4sthetik"));
		expect(genreKey("A\u0308sthetik")).toBe(genreKey("\u00e4sthetik"));
	});

	it("folds sharp s and final sigma as full case folding does", () => {
		const strasse = genreKey("Strasse");
		expect([genreKey("Stra\u00dfe"), genreKey("STRASSE"), genreKey("STRA\u1e9eE")]).toEqual([
			strasse,
			strasse,
			strasse,
		]);
		// "ΟΔΟΣ" lower-cases to a final "ς"; "οδοσ" is the same word.
		expect(genreKey("\u039f\u0394\u039f\u03a3")).toBe(genreKey("\u03bf\u03b4\u03bf\u03c3"));
		expect(genreKey("\u03bf\u03b4\u03bf\u03c2")).toBe(genreKey("\u03bf\u03b4\u03bf\u03c3"));
	});

	it("keeps different names apart", () => {
		expect(genreKey("Cafe")).not.toBe(genreKey("Caf\u00e9"));
		expect(genreKey("Fiction")).not.toBe(genreKey("Fictions"));
		expect(genreKey("Science Fiction")).not.toBe(genreKey("ScienceFiction"));
	});

	it("is its own key (stable when recomputed from a stored key)", () => {
		for (const name of [
			"\uff26\uff29\uff23\uff34\uff29\uff2f\uff2e",
			"STRA\u1e9eE",
			"\u0130stanbul",
			"\u01c4",
		]) {
			expect(genreKey(genreKey(name))).toBe(genreKey(name));
		}
	});
});

describe("client network", () => {
	it.each(["203.0.113.7", "0.0.0.0", "255.255.255.255", "10.0.0.1"])("keys IPv4 %s by itself", (ip) => {
		expect(clientNetwork(ip)).toBe(ip);
	});

	it("gives one key to five spellings of addresses in one /64", () => {
		const spellings = [
			"2001:db8:85a3:8d3:1319:8a2e:370:7348",
			"2001:0DB8:85A3:08D3:0000:0000:0000:0001",
			"2001:db8:85a3:8d3::1",
			"2001:db8:85a3:8d3:ffff::%eth0",
			"2001:db8:85a3:8d3::203.0.113.7",
		];
		const keys = new Set(spellings.map(clientNetwork));
		expect([...keys]).toEqual(["2001:db8:85a3:8d3::/64"]);
	});

	it("gives neighbouring /64s different keys", () => {
		expect(clientNetwork("2001:db8:85a3:8d3::1")).not.toBe(clientNetwork("2001:db8:85a3:8d4::1"));
		expect(clientNetwork("2001:db8::1")).not.toBe(clientNetwork("2001:db9::1"));
	});

	it.each([
		["2001:db8::1", "2001:db8::/64"],
		["2001:DB8:0:0:abcd::", "2001:db8::/64"],
		["2001:0:0:1::5", "2001:0:0:1::/64"],
		["0:0:0:1:2:3:4:5", "0:0:0:1::/64"],
		["1::2:3:4:5:6:7", "1:0:2:3::/64"],
		["fe80::1%eth0", "fe80::/64"],
		["::1", "::/64"],
		["::", "::/64"],
	])("writes %s as the RFC 5952 prefix %s", (ip, key) => {
		expect(clientNetwork(ip)).toBe(key);
	});

	it.each(["::ffff:192.0.2.1", "::FFFF:192.0.2.1", "0:0:0:0:0:ffff:192.0.2.1", "::ffff:c000:0201"])(
		"keys the IPv4-mapped %s as the IPv4 client",
		(ip) => {
			expect(clientNetwork(ip)).toBe("192.0.2.1");
		},
	);

	it.each([
		undefined,
		null,
		"",
		" ",
		"unknown",
		"256.1.1.1",
		"01.2.3.4",
		"1.2.3",
		"1.2.3.4.5",
		"1.2.3.-4",
		"1.2.3.4/24",
		"1.2.3.4%eth0",
		"\uff11.2.3.4",
		"2001:db8::1::2",
		"2001:db8:0:0:0:0:0:0:1",
		"2001:db8:0:0:0:0:0",
		"2001:db8:0:0:0:0:0:0::",
		"12345::",
		"g::1",
		":1::",
		"1:::2",
		"1.2.3.4::",
		"::1.2.3.4:1",
		"::ffff:1.2.3.256",
		"::ffff:01.2.3.4",
		"fe80::1%",
		"fe80::1%eth0%1",
		"fe80::1%eth 0",
		"[2001:db8::1]",
		"2001:db8::1/64",
		`2001:db8::${"0:".repeat(60)}1`,
	])("refuses %j", (header) => {
		expect(clientNetwork(header)).toBeNull();
	});
});

describe("contains-text SQL", () => {
	const dialect = new SQLiteAsyncDialect();

	it("is instr() over lower(), with the search text bound as a parameter, not a LIKE pattern", () => {
		const query = dialect.sqlToQuery(containsText(books.title, "50%_off"));
		expect(query.sql).toBe('instr(lower("books"."title"), lower(?)) > 0');
		expect(query.params).toEqual(["50%_off"]);
	});

	it("matches any accepted search length literally in D1, ignoring ASCII case only", async () => {
		const db = drizzle(env.DB);
		const contains = async (haystack: string, needle: string) => {
			const row = await db.get<{ hit: number }>(sql`SELECT ${containsText(sql`${haystack}`, needle)} AS hit`);
			return row.hit === 1;
		};
		// 200 characters (over D1's 50-byte LIKE limit), full of LIKE wildcards.
		const needle = "%_\\".repeat(66).concat("AB");
		expect(await contains(`before ${needle.toLowerCase()} after`, needle)).toBe(true);
		expect(await contains("50% off", "50%")).toBe(true);
		expect(await contains("500 off", "50%")).toBe(false);
		expect(await contains("a_b", "_")).toBe(true);
		expect(await contains("ab", "_")).toBe(false);
		expect(await contains("Jane AUSTEN", "austen")).toBe(true);
		expect(await contains("\u00c9mile", "\u00e9mile")).toBe(false);
	});
});
