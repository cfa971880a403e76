import { describe, expect, it, vi } from "vitest";
import { fromBase64Url } from "../src/lib/encoding";
import { describeError } from "../src/lib/errors";
import { normalizeIsbn } from "../src/lib/isbn";
import { formatCents, parseCents } from "../src/lib/money";
import { hashPassword, PBKDF2_ITERATIONS, verifyPassword } from "../src/lib/password";
import { RELAY_BATCH, RELAY_GRACE_MS, relayUnconfirmed } from "../src/lib/relay";
import { signAccessToken, verifyAccessToken } from "../src/lib/tokens";
import { signUnsubscribeToken, verifyUnsubscribeToken } from "../src/prebook-emails/unsubscribe-token";

describe("access token verification", () => {
	const secret = "unit-test-secret-of-32-characters!";

	it("accepts a token under the secret that signed it only, however often it was accepted before", async () => {
		const token = await signAccessToken({ userId: 7, tokenVersion: 2 }, secret);
		expect(await verifyAccessToken(token, secret)).toEqual({ userId: 7, tokenVersion: 2 });
		expect(await verifyAccessToken(token, secret)).toEqual({ userId: 7, tokenVersion: 2 });
		// A rotated secret: the token it no longer signs is refused.
		expect(await verifyAccessToken(token, "another-secret-of-32-characters!!")).toBeNull();
		expect(await verifyAccessToken(token, secret)).toEqual({ userId: 7, tokenVersion: 2 });
	});

	it("refuses an accepted token before its iat and from its exp on, as a first verification does", async () => {
		const token = await signAccessToken({ userId: 8, tokenVersion: 0 }, secret);
		const { iat, exp } = JSON.parse(
			atob((token.split(".")[1] ?? "").replaceAll("-", "+").replaceAll("_", "/")),
		);
		expect(await verifyAccessToken(token, secret)).not.toBeNull();
		const now = vi.spyOn(Date, "now");
		now.mockReturnValue((iat - 1) * 1000);
		expect(await verifyAccessToken(token, secret)).toBeNull();
		now.mockReturnValue(exp * 1000 - 1);
		expect(await verifyAccessToken(token, secret)).not.toBeNull();
		now.mockReturnValue(exp * 1000);
		expect(await verifyAccessToken(token, secret)).toBeNull();
		// Refusing it did not mark it: at the real time it is verified again, and valid.
		now.mockRestore();
		expect(await verifyAccessToken(token, secret)).not.toBeNull();
	});
});

describe("password hashing", () => {
	it("uses 100,000 PBKDF2 iterations, the most production Workers accept", () => {
		expect(PBKDF2_ITERATIONS).toBe(100_000);
	});

	it("stores algorithm, iteration count and a per-hash salt with the hash", async () => {
		const first = await hashPassword("correct horse battery");
		const second = await hashPassword("correct horse battery");
		expect(first).toMatch(/^pbkdf2_sha256\$100000\$[\w-]{22}\$[\w-]{43}$/);
		expect(first).not.toBe(second);
	});

	it("verifies the right password and rejects a wrong one", async () => {
		const stored = await hashPassword("correct horse battery");
		expect(await verifyPassword("correct horse battery", stored)).toBe(true);
		expect(await verifyPassword("correct horse batterx", stored)).toBe(false);
	});

	it("verifies hashes made with fewer iterations (the count is read from the hash)", async () => {
		const stored = await hashPassword("pw-123456");
		const [, , salt] = stored.split("$");
		const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("pw-123456"), "PBKDF2", false, [
			"deriveBits",
		]);
		const saltBytes = Uint8Array.from(atob((salt ?? "").replaceAll("-", "+").replaceAll("_", "/")), (c) =>
			c.charCodeAt(0),
		);
		const bits = new Uint8Array(
			await crypto.subtle.deriveBits(
				{ name: "PBKDF2", hash: "SHA-256", salt: saltBytes, iterations: 1000 },
				key,
				256,
			),
		);
		const hash = btoa(String.fromCharCode(...bits))
			.replaceAll("+", "-")
			.replaceAll("/", "_")
			.replace(/=+$/, "");
		expect(await verifyPassword("pw-123456", `pbkdf2_sha256$1000$${salt}$${hash}`)).toBe(true);
	});

	it("refuses stored hashes it cannot verify in production instead of throwing", async () => {
		expect(await verifyPassword("x", "pbkdf2_sha256$200000$abc$def")).toBe(false);
		expect(await verifyPassword("x", "md5$1$abc$def")).toBe(false);
		expect(await verifyPassword("x", "garbage")).toBe(false);
	});
});

describe("unsubscribe tokens", () => {
	const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	it("accept only the canonical spelling: the unused bits of the last base64url character must be 0", async () => {
		const claims = { scope: "all" as const, userId: 7, prebookId: 42 };
		const token = await signUnsubscribeToken("unsubscribe-secret", claims);
		expect(await verifyUnsubscribeToken("unsubscribe-secret", token)).toEqual(claims);
		// 32 signature bytes are 43 characters: the last carries 4 bits of the signature and 2 unused ones.
		const last = ALPHABET.indexOf(token.at(-1) as string);
		const spellings = [1, 2, 3].map((bits) => `${token.slice(0, -1)}${ALPHABET[last ^ bits]}`);
		for (const spelling of spellings) {
			expect(await verifyUnsubscribeToken("unsubscribe-secret", spelling), spelling).toBeNull();
		}
	});

	it("base64url decoding refuses non-canonical input instead of reading it as the canonical bytes", () => {
		expect([...fromBase64Url("AQ")]).toEqual([1]);
		for (const text of ["AR", "AS", "AT", "AQ==", "A", "A+", "A/"])
			expect(() => fromBase64Url(text), text).toThrow();
	});
});

describe("money", () => {
	it.each([
		["19.99", 1999],
		["19.9", 1990],
		["19", 1900],
		["0.01", 1],
		["100000", 10_000_000],
	])("parses %s as %i cents", (text, cents) => {
		expect(parseCents(text)).toBe(cents);
	});

	it.each(["19.999", "1e3", "-1", "01.5", "", "abc", "1.", ".5"])("rejects %j", (text) => {
		expect(parseCents(text)).toBeNull();
	});

	it("formats cents with exactly two decimals", () => {
		expect([formatCents(1999), formatCents(5), formatCents(3050), formatCents(10_000_000)]).toEqual([
			"19.99",
			"0.05",
			"30.50",
			"100000.00",
		]);
	});
});

describe("ISBN", () => {
	it("normalises valid ISBN-13 and ISBN-10 (with X) to ISBN-13 without hyphens", () => {
		expect(normalizeIsbn("978-0-306-40615-7")).toBe("9780306406157");
		expect(normalizeIsbn("0-8044-2957-x")).toBe("9780804429573");
	});

	it("rejects bad checksums and malformed values", () => {
		expect(normalizeIsbn("978-0-306-40615-8")).toBeNull();
		expect(normalizeIsbn("0-8044-2957-5")).toBeNull();
		expect(normalizeIsbn("X804429575")).toBeNull();
		expect(normalizeIsbn("1 OR 1=1")).toBeNull();
	});
});

describe("error descriptions for logs", () => {
	it("names the error chain without its messages (which carry SQL and parameters)", () => {
		const d1 = new Error("D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT");
		const wrapped = new Error("Failed query: insert into users values (?) params: secret@example.com", {
			cause: d1,
		});
		wrapped.name = "DrizzleQueryError";
		const description = describeError(wrapped);
		expect(description).toBe("DrizzleQueryError < Error [SQLITE_CONSTRAINT]");
		expect(description).not.toContain("secret@example.com");
	});
});

describe("the cron relay (relayUnconfirmed)", () => {
	it("takes the bounded batch of units past the grace period, each its own unit of work", async () => {
		const now = new Date("2030-01-01T12:00:00.000Z");
		const units = [{ id: 1 }, { id: 2 }, { id: 3 }];
		const recipients: Record<number, number> = { 1: 2, 2: 1, 3: 0 };
		const found: [string, number][] = [];
		const republished: number[] = [];
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		try {
			const outcome = await relayUnconfirmed(
				{
					name: "thing",
					findUnconfirmed: async (before, limit) => {
						found.push([before, limit]);
						return units;
					},
					republish: async (unit) => {
						if (unit.id === 2) throw new Error("queue refused");
						republished.push(unit.id);
						return recipients[unit.id] ?? 0;
					},
				},
				now,
			);
			expect(found).toEqual([[new Date(now.getTime() - RELAY_GRACE_MS).toISOString(), RELAY_BATCH]]);
			// The failing unit is logged and does not stop the next.
			expect(republished).toEqual([1, 3]);
			expect(outcome).toEqual({ units: 3, recipients: 2, failed: 1 });
			const lines = (spy: typeof warn) => spy.mock.calls.map(([line]) => JSON.parse(String(line)));
			expect(lines(warn)).toEqual([
				{ level: "warn", event: "thing_relayed", thing_id: 1, recipients: 2 },
				{ level: "warn", event: "thing_relayed", thing_id: 3, recipients: 0 },
			]);
			expect(lines(error)).toEqual([
				{ level: "error", event: "thing_relay_failed", thing_id: 2, error: expect.any(String) },
			]);
		} finally {
			warn.mockRestore();
			error.mockRestore();
		}
	});
});
