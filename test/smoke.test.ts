import { describe, expect, it } from "vitest";
import { api, createAdmin, createBook, d1RoundTrips } from "./helpers";

describe("smoke", () => {
	it("answers health", async () => {
		const res = await api("GET", "/health");
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ status: "ok" });
		expect(d1RoundTrips(res)).toBe(1);
	});
	it("creates a book", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const res = await api("GET", `/books/${book.id}`);
		expect(res.status).toBe(200);
		expect(res.body.price).toBe("12.50");
	});
});
