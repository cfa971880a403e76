/**
 * Validation messages say plainly what is wrong with the field (the contract: "must be at most 100
 * characters", not "is required"), also where a schema has no message of its own: zod's developer wording
 * ("Too big: expected string to have <=255 characters") never reaches a client.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
	type ApiResponse,
	api,
	createAdmin,
	createBook,
	createUser,
	expectError,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

/** The 422's `{field, detail}`, asserting every listed problem is worded for people. */
function problemOf(res: ApiResponse) {
	expectError(res, 422, "VALIDATION_ERROR");
	for (const { detail } of res.body.errors) {
		expect(detail).not.toMatch(/Too (?:big|small)|Invalid (?:input|option|string)|expected|received|<=|>=/);
	}
	return { field: res.body.field, detail: res.body.detail };
}

describe("validation messages", () => {
	it("word lengths, types and options without a message of their own", async () => {
		const user = await createUser();
		const patch = (body: unknown) => api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body });
		expect(problemOf(await patch({ is_active: "yes" }))).toEqual({
			field: "is_active",
			detail: "is_active must be true or false",
		});
		expect(problemOf(await patch({ role: "root" }))).toEqual({
			field: "role",
			detail: "role must be one of: user, admin",
		});
		const book = (fields: Record<string, unknown>) =>
			api("POST", "/books", { token: admin.token, body: { title: "T", author: "A", price: 1, ...fields } });
		expect(problemOf(await book({ isbn: "9".repeat(33) }))).toEqual({
			field: "isbn",
			detail: "isbn must be at most 32 characters",
		});
		expect(problemOf(await book({ isbn: 9780306406157 }))).toEqual({
			field: "isbn",
			detail: "isbn must be a string",
		});
		expect(problemOf(await book({ price: true }))).toEqual({
			field: "price",
			detail: "price must be a number or a string",
		});
		expect(problemOf(await api("GET", "/books?in_stock=maybe"))).toEqual({
			field: "in_stock",
			detail: "in_stock must be true or false",
		});
		expect(problemOf(await api("GET", `/books?cursor=${"a".repeat(513)}`))).toEqual({
			field: "cursor",
			detail: "cursor must be at most 512 characters",
		});
		expect(problemOf(await api("POST", "/books", { token: admin.token, body: [] }))).toEqual({
			field: null,
			detail: "The request body must be an object",
		});
	});

	type ApiCall = () => ReturnType<typeof api>;

	it("says what is wrong with a guest confirmation token, not 'token is required'", async () => {
		const confirm = (body: unknown) => api("POST", "/prebooks/guest/confirm", { body });
		const cases: [unknown, string][] = [
			[{ token: "x".repeat(5000) }, "token must be at most 512 characters"],
			[{ token: { nested: "object" } }, "token must be a string"],
			[{ token: 12 }, "token must be a string"],
			[{ token: "" }, "token must not be empty"],
			[{}, "token is required"],
		];
		for (const [body, detail] of cases) {
			expect(problemOf(await confirm(body)), JSON.stringify(body).slice(0, 40)).toEqual({
				field: "token",
				detail,
			});
		}
	});

	it("says what is wrong with auth and account fields too (no blanket 'is required')", async () => {
		const reader = await createUser();
		const cases: [ApiCall, string, string][] = [
			[
				() => api("POST", "/auth/login", { body: { email: 5, password: "x" } }),
				"email",
				"email must be a string",
			],
			[
				() => api("POST", "/auth/login", { body: { email: "a@b.co", password: "p".repeat(129) } }),
				"password",
				"password must be at most 128 characters",
			],
			[
				() => api("POST", "/auth/refresh", { body: { refresh_token: ["x"] } }),
				"refresh_token",
				"refresh_token must be a string",
			],
			[
				() =>
					api("POST", "/auth/register/complete", {
						body: { token: "t".repeat(513), password: "long enough" },
					}),
				"token",
				"token must be at most 512 characters",
			],
			[
				() => api("DELETE", "/users/me", { token: reader.token, body: { password: 12 } }),
				"password",
				"password must be a string",
			],
			[
				() => api("PATCH", "/users/me/preferences", { token: reader.token, body: { restock_emails: "no" } }),
				"restock_emails",
				"restock_emails must be true or false",
			],
			[() => api("POST", "/auth/login", { body: { email: "a@b.co" } }), "password", "password is required"],
			[
				() => api("POST", "/auth/login", { body: { email: null, password: "x" } }),
				"email",
				"email must not be null (it must be a string)",
			],
		];
		for (const [call, field, detail] of cases)
			expect(problemOf(await call()), detail).toEqual({ field, detail });
	});

	it("lists one problem once: an id past 2^63 is one error, not two", async () => {
		const user = await createUser();
		const res = await api("POST", "/prebooks", {
			token: user.token,
			rawBody: '{"book_id":9223372036854775808}',
		});
		problemOf(res);
		expect(res.body.errors).toEqual([{ field: "book_id", detail: "book_id must be a positive integer" }]);
	});

	it("names the stock field that is wrong: stock_quantity on a book, quantity on a stock update", async () => {
		const created = await api("POST", "/books", {
			token: admin.token,
			body: { title: "T", author: "A", price: 1, stock_quantity: -1 },
		});
		expect(problemOf(created)).toEqual({
			field: "stock_quantity",
			detail: "stock_quantity must be an integer from 0 to 1000000",
		});
		const book = await createBook(admin.token);
		const stock = await api("PATCH", `/books/${book.id}/stock`, {
			token: admin.token,
			body: { quantity: 1.5 },
		});
		expect(problemOf(stock)).toEqual({
			field: "quantity",
			detail: "quantity must be an integer from 0 to 1000000",
		});
	});
});
