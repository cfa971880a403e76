import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
	addToCart,
	api,
	buy,
	cartOf,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	type TestUser,
	unique,
	uniqueIsbn,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const post = (body: unknown) => api("POST", "/books", { token: admin.token, body });

describe("POST /books", () => {
	it("creates a book with every field; price is returned as a 2-decimal string", async () => {
		const genre = await api("POST", "/genres", { token: admin.token, body: { name: unique("Genre") } });
		const res = await post({
			title: "  The Left Hand of Darkness ",
			author: "Ursula K. Le Guin",
			price: 19.9,
			isbn: "978-0-306-40615-7",
			description: "Winter.",
			genre_id: genre.body.id,
			publish_date: "1969-03-01",
			stock_quantity: 4,
			demand_alert_threshold: 50,
		});
		expect(res.status).toBe(201);
		expect(res.body).toEqual({
			id: expect.any(Number),
			title: "The Left Hand of Darkness",
			author: "Ursula K. Le Guin",
			price: "19.90",
			isbn: "9780306406157",
			description: "Winter.",
			genre_id: genre.body.id,
			publish_date: "1969-03-01",
			work_id: null,
			format: "other",
			stock_quantity: 4,
			held_quantity: 0,
			available_quantity: 4,
			allocation: "notify_all",
			hold_hours: 48,
			wave_factor: 3,
			wave_minutes: 60,
			demand_alert_threshold: 50,
			created_at: expect.any(String),
			updated_at: expect.any(String),
		});
		expect(d1RoundTrips(res)).toBe(1);
	});

	it("defaults stock to 0 and optional fields to null", async () => {
		const res = await post({ title: "Minimal", author: "Anon", price: "5" });
		expect(res.body).toMatchObject({
			price: "5.00",
			stock_quantity: 0,
			isbn: null,
			description: null,
			genre_id: null,
			publish_date: null,
			demand_alert_threshold: null,
		});
	});

	it("says the price's whole rule, its range included, whatever is wrong with it", async () => {
		for (const price of [-1, "-5.00", 0, 100000.01, "19.999"]) {
			const res = await post({ title: unique("Price"), author: "A", price });
			expectError(res, 422, "VALIDATION_ERROR", "price");
			expect(res.body.detail, String(price)).toMatch(/greater than 0 and at most 100000/);
		}
	});

	it.each([
		[{ price: "19.999" }, "price"],
		[{ price: 19.999 }, "price"],
		[{ price: 0 }, "price"],
		[{ price: -1 }, "price"],
		[{ price: 100000.01 }, "price"],
		[{ price: "abc" }, "price"],
		[{ price: 1e-7 }, "price"],
		[{ price: null }, "price"],
		[{ title: "" }, "title"],
		[{ title: "x".repeat(501) }, "title"],
		[{ author: "x".repeat(256) }, "author"],
		[{ isbn: "978-0-306-40615-8" }, "isbn"],
		[{ isbn: "1 OR 1=1" }, "isbn"],
		[{ publish_date: "2020-13-45" }, "publish_date"],
		[{ publish_date: "2021-02-30" }, "publish_date"],
		[{ publish_date: "yesterday" }, "publish_date"],
		[{ genre_id: -1 }, "genre_id"],
		[{ genre_id: 1.5 }, "genre_id"],
		[{ stock_quantity: -1 }, "stock_quantity"],
		[{ stock_quantity: 1_000_001 }, "stock_quantity"],
		[{ demand_alert_threshold: 0 }, "demand_alert_threshold"],
		[{ demand_alert_threshold: 2.5 }, "demand_alert_threshold"],
		[{ demand_alert_threshold: "10" }, "demand_alert_threshold"],
	])("rejects %j with 422 on %s and stores nothing", async (override, field) => {
		const title = unique("Invalid");
		const res = await post({ title, author: "A", price: "10.00", ...override });
		expectError(res, 422, "VALIDATION_ERROR", field);
		const stored = await env.DB.prepare("SELECT count(*) AS n FROM books WHERE title = ?")
			.bind(title)
			.first("n");
		expect(stored).toBe(0);
	});

	it("accepts the price bounds 0.01 and 100000", async () => {
		expect((await post({ title: "Cheap", author: "A", price: "0.01" })).body.price).toBe("0.01");
		expect((await post({ title: "Dear", author: "A", price: 100000 })).body.price).toBe("100000.00");
	});

	it("refuses a duplicate ISBN whatever its hyphens (409 BOOK_ISBN_CONFLICT)", async () => {
		const isbn = uniqueIsbn();
		await post({ title: "First", author: "A", price: 1, isbn });
		const hyphenated = `${isbn.slice(0, 3)}-${isbn.slice(3, 8)}-${isbn.slice(8)}`;
		expectError(
			await post({ title: "Second", author: "A", price: 1, isbn: hyphenated }),
			409,
			"BOOK_ISBN_CONFLICT",
			"isbn",
		);
	});

	it("answers 404 GENRE_NOT_FOUND for an unknown genre", async () => {
		expectError(
			await post({ title: "T", author: "A", price: 1, genre_id: 999999 }),
			404,
			"GENRE_NOT_FOUND",
			"genre_id",
		);
	});

	it("ignores unknown fields such as id and created_at", async () => {
		const res = await post({
			title: "T",
			author: "A",
			price: 1,
			id: 987_654,
			created_at: "1999-01-01T00:00:00.000Z",
		});
		expect(res.status).toBe(201);
		expect(res.body.id).not.toBe(987_654);
		expect(res.body.created_at).not.toBe("1999-01-01T00:00:00.000Z");
		expectError(await api("GET", "/books/987654"), 404, "BOOK_NOT_FOUND");
	});
});

describe("GET /books/{id}", () => {
	it("returns the book in one round trip, without a token", async () => {
		const book = await createBook(admin.token);
		const res = await api("GET", `/books/${book.id}`);
		expect(res.status).toBe(200);
		expect(res.body.id).toBe(book.id);
		expect(d1RoundTrips(res)).toBe(1);
	});

	it("answers 404 BOOK_NOT_FOUND and 422 for ids that are not positive integers", async () => {
		expectError(await api("GET", "/books/999999"), 404, "BOOK_NOT_FOUND");
		for (const id of ["0", "-1", "1.5", "abc", "1e3", "1%20OR%201=1", "99999999999999999999"]) {
			expectError(await api("GET", `/books/${id}`), 422, "VALIDATION_ERROR", "id");
		}
	});
});

describe("PATCH /books/{id}", () => {
	it("changes the given fields, clears nullable ones with null, and ignores stock_quantity", async () => {
		const book = await createBook(admin.token, { isbn: uniqueIsbn(), stock_quantity: 3 });
		const res = await api("PATCH", `/books/${book.id}`, {
			token: admin.token,
			body: { title: "Renamed", price: "7.5", isbn: null, stock_quantity: 999 },
		});
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ title: "Renamed", price: "7.50", isbn: null, stock_quantity: 3 });
		expect(res.body.updated_at >= res.body.created_at).toBe(true);
		expect((await api("GET", `/books/${book.id}`)).body).toEqual(res.body);
	});

	it("refuses null for required fields, an ISBN of another book, and unknown books", async () => {
		const book = await createBook(admin.token);
		const other = await createBook(admin.token, { isbn: uniqueIsbn() });
		const path = `/books/${book.id}`;
		expectError(
			await api("PATCH", path, { token: admin.token, body: { title: null } }),
			422,
			"VALIDATION_ERROR",
			"title",
		);
		expectError(
			await api("PATCH", path, { token: admin.token, body: { isbn: other.isbn } }),
			409,
			"BOOK_ISBN_CONFLICT",
		);
		expectError(
			await api("PATCH", path, { token: admin.token, body: { genre_id: 999999 } }),
			404,
			"GENRE_NOT_FOUND",
		);
		expectError(
			await api("PATCH", "/books/999999", { token: admin.token, body: { title: "X" } }),
			404,
			"BOOK_NOT_FOUND",
		);
		expectError(await api("PATCH", "/books/999999", { token: admin.token, body: {} }), 404, "BOOK_NOT_FOUND");
	});
});

describe("DELETE /books/{id}", () => {
	it("deletes (204) and then answers 404", async () => {
		const book = await createBook(admin.token);
		expect((await api("DELETE", `/books/${book.id}`, { token: admin.token })).status).toBe(204);
		expectError(await api("GET", `/books/${book.id}`), 404, "BOOK_NOT_FOUND");
		expectError(await api("DELETE", `/books/${book.id}`, { token: admin.token }), 404, "BOOK_NOT_FOUND");
	});

	it("keeps orders (with their snapshot) and drops its cart lines, wishlist entries and pre-bookings", async () => {
		const reader = await createUser();
		const fan = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 3, price: "8.00" });
		const order = await buy(reader, book.id);
		await addToCart(reader, book.id, 1);
		await api("POST", "/wishlist", { token: reader.token, body: { book_id: book.id } });
		// Sold out, then pre-booked.
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 0 } });
		const prebook = await api("POST", "/prebooks", { token: fan.token, body: { book_id: book.id } });
		expect(prebook.status).toBe(201);

		expect((await api("DELETE", `/books/${book.id}`, { token: admin.token })).status).toBe(204);
		const kept = await api("GET", `/orders/${order.id}`, { token: reader.token });
		expect(kept.body.items).toEqual([{ book_id: null, title: book.title, unit_price: "8.00", quantity: 1 }]);
		expect((await cartOf(reader)).items).toEqual([]);
		expect((await api("GET", "/wishlist", { token: reader.token })).body.items).toEqual([]);
		expect((await api("GET", "/prebooks", { token: fan.token })).body.items).toEqual([]);
		expectError(
			await api("GET", `/prebooks/${prebook.body.id}`, { token: fan.token }),
			404,
			"PREBOOK_NOT_FOUND",
		);
	});
});

describe("PATCH /books/{id}/stock", () => {
	it("sets the absolute quantity", async () => {
		const book = await createBook(admin.token, { stock_quantity: 2 });
		const res = await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 7 } });
		expect(res.status).toBe(200);
		expect(res.body.stock_quantity).toBe(7);
	});

	it.each([-1, 1_000_001, 1.5, "5", null])(
		"rejects quantity %j with 422 and changes nothing",
		async (quantity) => {
			const book = await createBook(admin.token, { stock_quantity: 2 });
			const res = await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity } });
			expectError(res, 422, "VALIDATION_ERROR", "quantity");
			expect((await api("GET", `/books/${book.id}`)).body.stock_quantity).toBe(2);
		},
	);

	it("answers 404 BOOK_NOT_FOUND for an unknown book", async () => {
		expectError(
			await api("PATCH", "/books/999999/stock", { token: admin.token, body: { quantity: 1 } }),
			404,
			"BOOK_NOT_FOUND",
		);
	});
});

describe("GET /books", () => {
	it("filters by q, author, genre and stock, pages by id, in one round trip", async () => {
		const author = unique("Author");
		const genre = await api("POST", "/genres", { token: admin.token, body: { name: unique("G") } });
		const a = await createBook(admin.token, { author, title: "Alpha Dune", stock_quantity: 0 });
		const b = await createBook(admin.token, {
			author,
			title: "Beta",
			stock_quantity: 5,
			genre_id: genre.body.id,
		});
		const c = await createBook(admin.token, { author, title: "Gamma dune", stock_quantity: 1 });
		const ids = async (query: string) => {
			const res = await api("GET", `/books?${query}`);
			expect(res.status).toBe(200);
			expect(d1RoundTrips(res)).toBe(1);
			return res.body.items.map((book: { id: number }) => book.id);
		};
		expect(await ids(`author=${encodeURIComponent(author.toUpperCase())}`)).toEqual([a.id, b.id, c.id]);
		expect(await ids(`author=${encodeURIComponent(author)}&q=DUNE`)).toEqual([a.id, c.id]);
		expect(await ids(`q=${encodeURIComponent(author.slice(2, 12))}`)).toEqual([a.id, b.id, c.id]);
		expect(await ids(`author=${encodeURIComponent(author)}&in_stock=true`)).toEqual([b.id, c.id]);
		expect(await ids(`author=${encodeURIComponent(author)}&in_stock=false`)).toEqual([a.id]);
		expect(await ids(`genre_id=${genre.body.id}`)).toEqual([b.id]);

		const first = await api("GET", `/books?author=${encodeURIComponent(author)}&limit=2`);
		expect(first.body.items.map((x: { id: number }) => x.id)).toEqual([a.id, b.id]);
		const second = await api(
			"GET",
			`/books?author=${encodeURIComponent(author)}&limit=2&cursor=${first.body.next_cursor}`,
		);
		expect(second.body.items.map((x: { id: number }) => x.id)).toEqual([c.id]);
		expect(second.body.next_cursor).toBeNull();
	});

	it("pages 50 books by default and 100 at most", async () => {
		const author = unique("Prolific");
		for (let i = 0; i < 51; i++) {
			await api("POST", "/books", { token: admin.token, body: { title: `Volume ${i}`, author, price: 1 } });
		}
		const byDefault = await api("GET", `/books?author=${encodeURIComponent(author)}`);
		expect(byDefault.body.items).toHaveLength(50);
		expect(byDefault.body.next_cursor).not.toBeNull();
		const all = await api("GET", `/books?author=${encodeURIComponent(author)}&limit=100`);
		expect(all.body.items).toHaveLength(51);
		expect(all.body.next_cursor).toBeNull();
		expectError(
			await api("GET", `/books?author=${encodeURIComponent(author)}&limit=101`),
			422,
			"VALIDATION_ERROR",
			"limit",
		);
	});

	it.each(["limit=101", "limit=0", "in_stock=yes", "genre_id=abc", "genre_id=-3", "cursor=%%%", "q="])(
		"rejects %s with 422",
		async (query) => {
			expectError(await api("GET", `/books?${query}`), 422, "VALIDATION_ERROR");
		},
	);
});

describe("genres", () => {
	it("creates genres (admin) and lists them by name for anyone", async () => {
		const name = unique("Zeta");
		const created = await api("POST", "/genres", { token: admin.token, body: { name: `  ${name} ` } });
		expect(created.status).toBe(201);
		expect(created.body).toEqual({ id: expect.any(Number), name });
		const list = await api("GET", "/genres");
		expect(list.body.items).toContainEqual({ id: created.body.id, name });
		const names = list.body.items.map((g: { name: string }) => g.name);
		expect(names).toEqual([...names].sort());
		expect(d1RoundTrips(list)).toBe(1);
	});

	it("refuses a name that differs only in case (409 GENRE_NAME_CONFLICT) and empty names (422)", async () => {
		const name = unique("Noir");
		await api("POST", "/genres", { token: admin.token, body: { name } });
		expectError(
			await api("POST", "/genres", { token: admin.token, body: { name: name.toUpperCase() } }),
			409,
			"GENRE_NAME_CONFLICT",
			"name",
		);
		expectError(
			await api("POST", "/genres", { token: admin.token, body: { name: "   " } }),
			422,
			"VALIDATION_ERROR",
			"name",
		);
	});
});
