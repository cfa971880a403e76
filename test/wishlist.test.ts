import { beforeAll, describe, expect, it } from "vitest";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const bookIdsOf = (res: { body: { items: { book_id: number }[] } }) => res.body.items.map((i) => i.book_id);

describe("wishlist", () => {
	it("adds, lists newest first with book details, and removes", async () => {
		const user = await createUser();
		const first = await createBook(admin.token, { price: "9.90", stock_quantity: 0 });
		const second = await createBook(admin.token);
		const added = await api("POST", "/wishlist", { token: user.token, body: { book_id: first.id } });
		expect(added.status).toBe(201);
		expect(added.body).toEqual({
			book_id: first.id,
			book_title: first.title,
			book_author: "Test Author",
			price: "9.90",
			stock_quantity: 0,
			added_at: expect.stringMatching(/Z$/),
		});
		expect(d1RoundTrips(added)).toBe(1);
		await api("POST", "/wishlist", { token: user.token, body: { book_id: second.id } });
		const list = await api("GET", "/wishlist", { token: user.token });
		expect(bookIdsOf(list)).toEqual([second.id, first.id]);
		expect(list.body.next_cursor).toBeNull();
		const third = await createBook(admin.token);
		await api("POST", "/wishlist", { token: user.token, body: { book_id: third.id } });
		const page = await api("GET", "/wishlist?limit=2", { token: user.token });
		expect(bookIdsOf(page)).toEqual([third.id, second.id]);
		const rest = await api("GET", `/wishlist?limit=2&cursor=${page.body.next_cursor}`, { token: user.token });
		expect(rest.body).toMatchObject({
			items: [expect.objectContaining({ book_id: first.id })],
			next_cursor: null,
		});
		await api("DELETE", `/wishlist/${third.id}`, { token: user.token });
		expect((await api("DELETE", `/wishlist/${first.id}`, { token: user.token })).status).toBe(204);
		expect(bookIdsOf(await api("GET", "/wishlist", { token: user.token }))).toEqual([second.id]);
	});

	it("refuses duplicates (409), unknown books (404) and removing what is not there (404)", async () => {
		const user = await createUser();
		const other = await createUser();
		const book = await createBook(admin.token);
		await api("POST", "/wishlist", { token: user.token, body: { book_id: book.id } });
		expectError(
			await api("POST", "/wishlist", { token: user.token, body: { book_id: book.id } }),
			409,
			"WISHLIST_ITEM_DUPLICATE",
			"book_id",
		);
		expectError(
			await api("POST", "/wishlist", { token: user.token, body: { book_id: 999999 } }),
			404,
			"BOOK_NOT_FOUND",
		);
		expectError(
			await api("DELETE", `/wishlist/${book.id}`, { token: other.token }),
			404,
			"WISHLIST_ITEM_NOT_FOUND",
		);
		expectError(
			await api("DELETE", "/wishlist/abc", { token: user.token }),
			422,
			"VALIDATION_ERROR",
			"book_id",
		);
		expectError(await api("GET", "/wishlist"), 401, "AUTH_REQUIRED");
		// The owner's entry is still there.
		expect(bookIdsOf(await api("GET", "/wishlist", { token: user.token }))).toEqual([book.id]);
	});
});
