import { hc } from "hono/client";
import { describe, expect, it } from "vitest";
import type { AppType } from "../src/index";
import { createAdmin, createBook, fetchWorker } from "./helpers";

describe("typed client (hono/client)", () => {
	it("calls the API through the exported AppType", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token, { price: "7.25" });
		const client = hc<AppType>("https://api.test", {
			fetch: (input: RequestInfo | URL, init?: RequestInit) => fetchWorker(new Request(input, init)),
		});
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
});
