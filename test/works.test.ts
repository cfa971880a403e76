/**
 * Works and formats (API.md, Catalog): a work groups the editions of one book; the works routes, the
 * `work_id`/`format` of a book and the `work_id` filter.
 */
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

const createWork = async (title = "Middlemarch", author = "George Eliot") => {
	const res = await api("POST", "/works", { token: admin.token, body: { title, author } });
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body as { id: number; title: string };
};

describe("works", () => {
	it("creates a work (201) and lists its editions with format and available copies", async () => {
		const work = await createWork();
		expect(work).toMatchObject({ title: "Middlemarch", author: "George Eliot", editions: [] });
		const hardcover = await createBook(admin.token, {
			work_id: work.id,
			format: "hardcover",
			price: "30.00",
			stock_quantity: 2,
		});
		const paperback = await createBook(admin.token, {
			work_id: work.id,
			format: "paperback",
			stock_quantity: 0,
		});
		expect(hardcover).toMatchObject({ work_id: work.id, format: "hardcover" });

		const res = await api("GET", `/works/${work.id}`);
		expect(res.status).toBe(200);
		expect(d1RoundTrips(res)).toBe(1);
		expect(res.body.editions).toEqual([
			{ book_id: hardcover.id, format: "hardcover", isbn: null, price: "30.00", available_quantity: 2 },
			{ book_id: paperback.id, format: "paperback", isbn: null, price: "12.50", available_quantity: 0 },
		]);
		const editions = await api("GET", `/books?work_id=${work.id}`);
		expect(editions.body.items.map((book: { id: number }) => book.id)).toEqual([hardcover.id, paperback.id]);
	});

	it("a book's format defaults to other, and a format outside the list is refused (422)", async () => {
		expect((await createBook(admin.token)).format).toBe("other");
		const bad = await api("POST", "/books", {
			token: admin.token,
			body: { title: "T", author: "A", price: 1, format: "scroll" },
		});
		expectError(bad, 422, "VALIDATION_ERROR", "format");
	});

	it("searches works by title or author and pages them by id", async () => {
		const marker = crypto.randomUUID().slice(0, 8);
		const works = [];
		for (let i = 0; i < 3; i++) works.push(await createWork(`Search ${marker} ${i}`, "Someone"));
		const first = await api("GET", `/works?q=${marker}&limit=2`);
		expect(first.body.items.map((w: { id: number }) => w.id)).toEqual([works[0]?.id, works[1]?.id]);
		const next = await api("GET", `/works?q=${marker}&limit=2&cursor=${first.body.next_cursor}`);
		expect(next.body).toMatchObject({ items: [{ id: works[2]?.id }], next_cursor: null });
	});

	it("renames a work (200) and answers 404 WORK_NOT_FOUND for an unknown one", async () => {
		const work = await createWork();
		const renamed = await api("PATCH", `/works/${work.id}`, {
			token: admin.token,
			body: { title: "Renamed" },
		});
		expect(renamed.body).toMatchObject({ id: work.id, title: "Renamed", author: "George Eliot" });
		expectError(await api("GET", "/works/999999999"), 404, "WORK_NOT_FOUND");
		expectError(
			await api("PATCH", "/works/999999999", { token: admin.token, body: { title: "X" } }),
			404,
			"WORK_NOT_FOUND",
		);
		expectError(await api("DELETE", "/works/999999999", { token: admin.token }), 404, "WORK_NOT_FOUND");
	});

	it("refuses an unknown work_id on POST and PATCH /books (404 WORK_NOT_FOUND), changing nothing", async () => {
		const post = await api("POST", "/books", {
			token: admin.token,
			body: { title: "Orphan", author: "A", price: 1, work_id: 999999999 },
		});
		expectError(post, 404, "WORK_NOT_FOUND", "work_id");
		const book = await createBook(admin.token);
		const patch = await api("PATCH", `/books/${book.id}`, {
			token: admin.token,
			body: { work_id: 999999999 },
		});
		expectError(patch, 404, "WORK_NOT_FOUND", "work_id");
		expect((await api("GET", `/books/${book.id}`)).body.work_id).toBeNull();
	});

	it("writes are admin-only", async () => {
		const user = await createUser();
		expectError(
			await api("POST", "/works", { token: user.token, body: { title: "T", author: "A" } }),
			403,
			"AUTH_FORBIDDEN",
		);
	});

	it("a cached work shows an edition joined, moved or deleted at once (the writes purge it)", async () => {
		const work = await createWork();
		const other = await createWork();
		expect((await api("GET", `/works/${work.id}`)).body.editions).toEqual([]);
		const book = await createBook(admin.token, { work_id: work.id });
		expect((await api("GET", `/works/${work.id}`)).body.editions).toHaveLength(1);
		await api("PATCH", `/books/${book.id}`, { token: admin.token, body: { work_id: other.id } });
		expect((await api("GET", `/works/${work.id}`)).body.editions).toEqual([]);
		expect((await api("GET", `/works/${other.id}`)).body.editions).toHaveLength(1);
		await api("DELETE", `/books/${book.id}`, { token: admin.token });
		expect((await api("GET", `/works/${other.id}`)).body.editions).toEqual([]);
	});

	it("deleting a work keeps its editions, with work_id null (204)", async () => {
		const work = await createWork();
		const book = await createBook(admin.token, { work_id: work.id });
		expect((await api("GET", `/books/${book.id}`)).body.work_id).toBe(work.id);
		const res = await api("DELETE", `/works/${work.id}`, { token: admin.token });
		expect(res.status).toBe(204);
		expect(d1RoundTrips(res)).toBe(1);
		expectError(await api("GET", `/works/${work.id}`), 404, "WORK_NOT_FOUND");
		expect((await api("GET", `/books/${book.id}`)).body.work_id).toBeNull();
	});

	it("refuses to delete a work while a pre-booking of it is active (409 WORK_HAS_PREBOOKINGS)", async () => {
		const work = await createWork();
		await createBook(admin.token, { work_id: work.id, format: "paperback", stock_quantity: 0 });
		const reader = await createUser();
		const prebook = await api("POST", "/prebooks", { token: reader.token, body: { work_id: work.id } });
		expect(prebook.status).toBe(201);
		expectError(
			await api("DELETE", `/works/${work.id}`, { token: admin.token }),
			409,
			"WORK_HAS_PREBOOKINGS",
		);
		expect((await api("GET", `/works/${work.id}`)).status).toBe(200);
		// Once it is closed (cancelled while waiting), the work goes, and so does that pre-booking.
		await api("DELETE", `/prebooks/${prebook.body.id}`, { token: reader.token });
		expect((await api("DELETE", `/works/${work.id}`, { token: admin.token })).status).toBe(204);
		expectError(
			await api("GET", `/prebooks/${prebook.body.id}`, { token: reader.token }),
			404,
			"PREBOOK_NOT_FOUND",
		);
	});
});
