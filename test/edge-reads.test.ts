import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { validBookmark } from "../src/lib/db";
import { api, createAdmin, createBook, createUser } from "./helpers";

/** README, "Read replicas": every request runs on a D1 session and answers with its latest bookmark. */
describe("D1 read replication (Sessions API)", () => {
	it("public reads start anywhere, everything else on the primary, and every response carries a bookmark", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const sessions = vi.spyOn(env.DB, "withSession");

		const read = await api("GET", `/books/${book.id}?probe=${crypto.randomUUID()}`);
		expect(read.status).toBe(200);
		expect(read.headers.get("X-D1-Bookmark")).toMatch(/^[0-9a-f-]+$/);
		expect(sessions).toHaveBeenLastCalledWith("first-unconstrained");

		const write = await api("PATCH", `/books/${book.id}/stock`, {
			token: admin.token,
			body: { quantity: 7 },
		});
		expect(write.status).toBe(200);
		expect(write.headers.get("X-D1-Bookmark")).toMatch(/^[0-9a-f-]+$/);
		expect(sessions).toHaveBeenLastCalledWith("first-primary");

		// An authenticated read is not a public one: it starts on the primary too.
		const me = await api("GET", "/users/me", { token: admin.token });
		expect(me.status).toBe(200);
		expect(me.headers.get("X-D1-Bookmark")).toMatch(/^[0-9a-f-]+$/);
		expect(sessions).toHaveBeenLastCalledWith("first-primary");
	});

	it("a request with a bookmark is served through a session built from it (read-your-writes)", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const write = await api("PATCH", `/books/${book.id}/stock`, {
			token: admin.token,
			body: { quantity: 9 },
		});
		const bookmark = write.headers.get("X-D1-Bookmark") as string;
		expect(bookmark).toBeTruthy();

		const sessions = vi.spyOn(env.DB, "withSession");
		const read = await api("GET", `/books/${book.id}`, { headers: { "X-D1-Bookmark": bookmark } });
		expect(read.status).toBe(200);
		expect(read.body.stock_quantity).toBe(9);
		expect(sessions).toHaveBeenCalledTimes(1);
		expect(sessions).toHaveBeenCalledWith(bookmark);
		// The answer's bookmark is the session's latest: never older than the one sent.
		expect((read.headers.get("X-D1-Bookmark") ?? "") >= bookmark).toBe(true);

		const authed = await api("GET", "/users/me", {
			token: admin.token,
			headers: { "X-D1-Bookmark": bookmark },
		});
		expect(authed.status).toBe(200);
		expect(sessions).toHaveBeenLastCalledWith(bookmark);
	});

	it("a garbage or oversized bookmark is ignored, never a 500", async () => {
		const sessions = vi.spyOn(env.DB, "withSession");
		for (const junk of [
			"garbage",
			"<script>",
			"0000-",
			"-00",
			"a".repeat(129),
			`${"0".repeat(8)}-`.repeat(20),
		]) {
			const res = await api("GET", "/genres", { headers: { "X-D1-Bookmark": junk } });
			expect(res.status, junk).toBe(200);
			expect(sessions, junk).toHaveBeenLastCalledWith("first-unconstrained");
			expect(res.headers.get("X-D1-Bookmark"), junk).not.toBe(junk);
		}
		const user = await createUser();
		const res = await api("GET", "/users/me", { token: user.token, headers: { "X-D1-Bookmark": "nope" } });
		expect(res.status).toBe(200);
		expect(sessions).toHaveBeenLastCalledWith("first-primary");
	});

	it("validBookmark accepts D1's shape only", () => {
		expect(validBookmark("00000000-00000011-00000000-00000000000000000000000000000000")).toBe(
			"00000000-00000011-00000000-00000000000000000000000000000000",
		);
		expect(validBookmark(" 0000ABCD-00000001-00000000-0000000000000000000000000000000F ")).toBe(
			"0000abcd-00000001-00000000-0000000000000000000000000000000f",
		);
		// Only D1's fixed-width groups sort as strings: `f-f` would look newer than every real bookmark.
		for (const junk of [
			undefined,
			null,
			"",
			"xyz",
			"00 00",
			"00_00",
			"0".repeat(129),
			"00\n00",
			"f-f",
			"0000abcd-00000001",
		])
			expect(validBookmark(junk)).toBeNull();
	});

	it("CORS lets browsers send and read the bookmark", async () => {
		const preflight = await api("OPTIONS", "/books", {
			headers: {
				Origin: "http://localhost:3000",
				"Access-Control-Request-Method": "GET",
				"Access-Control-Request-Headers": "x-d1-bookmark",
			},
		});
		expect(preflight.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("x-d1-bookmark");
		const read = await api("GET", "/genres", { headers: { Origin: "http://localhost:3000" } });
		expect(read.headers.get("Access-Control-Expose-Headers")?.toLowerCase()).toContain("x-d1-bookmark");
	});
});
