import { hc } from "hono/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { AppType } from "../src/client";
import {
	createAdmin,
	createBook,
	createUser,
	emailedLinkToken,
	fetchWorker,
	PASSWORD,
	uniqueEmail,
} from "./helpers";

const client = hc<AppType>("https://api.test", {
	fetch: (input: RequestInfo | URL, init?: RequestInit) => fetchWorker(new Request(input, init)),
});

describe("typed client (hono/client)", () => {
	it("calls the API through the exported AppType", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token, { price: "7.25" });
		const res = await client.books[":id"].$get({ param: { id: String(book.id) } });
		expect(res.status).toBe(200);
		if (res.status === 200) {
			const body = await res.json();
			// Typed: body.price is a string, body.stock_quantity a number.
			const price: string = body.price;
			expect(price).toBe("7.25");
		}
		const me = await client.users.me.$get({}, { headers: { Authorization: `Bearer ${admin.token}` } });
		expect(me.status).toBe(200);
	});

	it("types each error status's body, with the route's codes for that status", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 2 });
		const res = await client.prebooks.$post(
			{ json: { book_id: book.id } },
			{ headers: { Authorization: `Bearer ${user.token}` } },
		);
		expect(res.status).toBe(409);
		if (res.status === 409) {
			const error = await res.json();
			expectTypeOf(error.code).toEqualTypeOf<
				"PREBOOK_BOOK_IN_STOCK" | "PREBOOK_DUPLICATE" | "PREBOOK_LIMIT_REACHED"
			>();
			expectTypeOf(error.field).toEqualTypeOf<string | null>();
			expect(error).toMatchObject({ code: "PREBOOK_BOOK_IN_STOCK", field: "book_id" });
			expect(typeof error.detail).toBe("string");
		}
		const missing = await client.books[":id"].$get({ param: { id: "999999999" } });
		expect(missing.status).toBe(404);
		if (missing.status === 404) {
			const error = await missing.json();
			expectTypeOf(error.code).toEqualTypeOf<"BOOK_NOT_FOUND">();
			expect(error.code).toBe("BOOK_NOT_FOUND");
		}
	});

	it("signs up (register, then complete with the emailed token); a spent link's 400 is typed with its codes", async () => {
		const email = uniqueEmail("client");
		expect((await client.auth.register.$post({ json: { email } })).status).toBe(202);
		const token = emailedLinkToken(email, "/signup");
		const done = await client.auth.register.complete.$post({ json: { token, password: PASSWORD } });
		expect(done.status).toBe(201);
		if (done.status === 201) expect((await done.json()).user).toMatchObject({ email, email_verified: true });
		const again = await client.auth.register.complete.$post({ json: { token, password: PASSWORD } });
		expect(again.status).toBe(400);
		if (again.status === 400) {
			const error = await again.json();
			expectTypeOf(error.code).toEqualTypeOf<"AUTH_INVALID_TOKEN" | "MALFORMED_BODY">();
			expect(error.code).toBe("AUTH_INVALID_TOKEN");
		}
	});
});
