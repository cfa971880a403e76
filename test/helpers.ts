/**
 * Test helpers: requests go through the Worker's real fetch handler (`exports.default`) with the real
 * D1 binding. Factories make unique data so tests never depend on each other's rows.
 */
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { isbn13CheckDigit } from "../src/lib/isbn";

export interface ApiResponse<T = any> {
	status: number;
	headers: Headers;
	body: T;
}

export interface RequestOptions {
	body?: unknown;
	/** Sent as-is, with the given content type (default application/json). */
	rawBody?: BodyInit;
	token?: string;
	headers?: Record<string, string>;
}

export async function api<T = any>(
	method: string,
	path: string,
	options: RequestOptions = {},
): Promise<ApiResponse<T>> {
	const headers = new Headers(options.headers);
	if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
	let body: BodyInit | undefined = options.rawBody;
	if (options.body !== undefined) body = JSON.stringify(options.body);
	if (body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
	const res = await exports.default.fetch(new Request(`https://api.test${path}`, { method, headers, body }));
	const text = await res.text();
	let parsed: unknown = text;
	try {
		parsed = text ? JSON.parse(text) : null;
	} catch {
		// not JSON (e.g. the docs page)
	}
	return { status: res.status, headers: res.headers, body: parsed as T };
}

/** D1 round trips the request made, from `Server-Timing: d1;dur=…;desc="<n>"`. */
export function d1RoundTrips(res: ApiResponse): number {
	const match = /(?:^|,)\s*d1;dur=[\d.]+;desc="(\d+)"/.exec(res.headers.get("Server-Timing") ?? "");
	if (!match) throw new Error(`no d1 entry in Server-Timing: ${res.headers.get("Server-Timing")}`);
	return Number(match[1]);
}

/** Asserts the contract's error envelope. */
export function expectError(res: ApiResponse, status: number, code: string, field?: string | null) {
	expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
	expect(typeof res.body.detail).toBe("string");
	if (field !== undefined) expect(res.body.field).toBe(field);
}

let sequence = 0;
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++sequence}`;
export const uniqueEmail = (prefix = "user") => `${unique(prefix)}@example.com`;

export const PASSWORD = "correct horse battery";

export interface TestUser {
	id: number;
	email: string;
	token: string;
	refreshToken: string;
}

export async function login(email: string, password = PASSWORD) {
	const res = await api("POST", "/auth/login", { body: { email, password } });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return res.body as { access_token: string; refresh_token: string };
}

/**
 * A registered, logged-in user. Its address is marked verified (restock emails go only to verified
 * addresses) unless `verified: false`; the verification flow itself is tested on its own.
 */
export async function createUser(
	options: { role?: "user" | "admin"; email?: string; verified?: boolean } = {},
): Promise<TestUser> {
	const email = options.email ?? uniqueEmail(options.role ?? "user");
	const res = await api("POST", "/auth/register", {
		body: { email, password: PASSWORD, full_name: "Test Reader" },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	// Admins are made directly in D1: ADMIN_EMAILS bootstrap is tested on its own.
	if (options.role === "admin")
		await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(res.body.id).run();
	if (options.verified !== false)
		await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(res.body.id).run();
	const tokens = await login(email);
	return { id: res.body.id, email, token: tokens.access_token, refreshToken: tokens.refresh_token };
}

export const createAdmin = () => createUser({ role: "admin" });

let isbnSequence = 100_000_000;
/** A unique valid ISBN-13 (978 prefix, computed check digit). */
export function uniqueIsbn(): string {
	const first12 = `978${String(++isbnSequence + Math.floor(Math.random() * 1000) * 1_000_000).slice(-9)}`;
	return `${first12}${isbn13CheckDigit(first12)}`;
}

export async function createBook(adminToken: string, fields: Record<string, unknown> = {}) {
	const res = await api("POST", "/books", {
		token: adminToken,
		body: { title: unique("Book"), author: "Test Author", price: "12.50", stock_quantity: 3, ...fields },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body as { id: number; title: string; stock_quantity: number; [key: string]: unknown };
}

/**
 * Inserts `count` verified users straight into D1 (no password hashing: they never log in) and returns the LIKE
 * pattern matching their emails, for tests about thousands of recipients.
 */
export async function bulkUsers(count: number): Promise<string> {
	const tag = `bulk-${crypto.randomUUID().slice(0, 8)}`;
	await env.DB.prepare(
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		 INSERT INTO users (email, password_hash, email_verified) SELECT ? || '-' || i || '@example.com', 'x', 1 FROM n`,
	)
		.bind(count, tag)
		.run();
	return `${tag}-%`;
}
