import { describe, expect, it } from "vitest";
import { api, createAdmin, createBook, createUser, d1RoundTrips } from "./helpers";

describe("D1 round trips per request (Server-Timing)", () => {
	it("public reads make one, authenticated requests at most two (checkout three)", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const inStock = await createBook(admin.token, { stock_quantity: 5 });
		const prebook = (await api("POST", "/prebooks", { token: user.token, body: { book_id: book.id } })).body;
		const cart = (
			await api("POST", "/cart/items", { token: user.token, body: { book_id: inStock.id, quantity: 1 } })
		).body;
		const cases: [string, string, { token?: string; body?: unknown }, number][] = [
			["GET", "/books", {}, 1],
			["GET", `/books/${book.id}`, {}, 1],
			["GET", "/genres", {}, 1],
			["GET", "/health", {}, 1],
			["GET", "/users/me", { token: user.token }, 1],
			["GET", "/prebooks", { token: user.token }, 2],
			["GET", `/prebooks/${prebook.id}`, { token: user.token }, 2],
			["GET", "/wishlist", { token: user.token }, 2],
			["POST", "/wishlist", { token: user.token, body: { book_id: inStock.id } }, 2],
			["GET", "/cart", { token: user.token }, 2],
			["PATCH", `/cart/items/${cart.items[0].id}`, { token: user.token, body: { quantity: 2 } }, 2],
			["GET", "/orders", { token: user.token }, 2],
			["GET", "/admin/users", { token: admin.token }, 2],
			["GET", "/admin/prebooks/demand", { token: admin.token }, 2],
			["GET", "/admin/restocks", { token: admin.token }, 2],
			["GET", "/admin/orders", { token: admin.token }, 2],
			["PATCH", `/books/${inStock.id}`, { token: admin.token, body: { title: "Renamed" } }, 2],
			["PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 3 } }, 2],
			["POST", "/orders/checkout", { token: user.token, body: {} }, 3],
		];
		for (const [method, path, options, expected] of cases) {
			const res = await api(method, path, options);
			expect(res.status, `${method} ${path}`).toBeLessThan(300);
			expect(d1RoundTrips(res), `${method} ${path}`).toBe(expected);
		}
	});
});
