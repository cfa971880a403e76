import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../src/app";
import worker from "../src/index";
import { loadConfig } from "../src/lib/config";
import { etagOf, matchesIfNoneMatch } from "../src/lib/http-cache";
import { afterHoldOf, api, createAdmin, createBook, createUser, d1RoundTrips, fetchWorker } from "./helpers";

const CATALOG_CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=60";
const CATALOG_ENTRY_CACHE_CONTROL = "public, max-age=30";

/** README, "HTTP caching of the catalog". */
describe("HTTP caching of the public catalog", () => {
	it("a second identical GET is served by the cache: 0 round trips, the same body and ETag, fresh per-request headers", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		// A new genre drops the cached /genres another test of this file may have left (any order).
		const genre = await api("POST", "/genres", {
			token: admin.token,
			body: { name: `G ${crypto.randomUUID()}` },
		});
		expect(genre.status).toBe(201);
		const filter = `author=Test%20Author&q=${encodeURIComponent(book.title)}`;
		for (const path of [`/books/${book.id}`, `/books?${filter}`, "/genres"]) {
			const first = await api("GET", path);
			expect(first.status, path).toBe(200);
			expect(d1RoundTrips(first), path).toBe(1);
			expect(first.headers.get("Cache-Control"), path).toBe(CATALOG_CACHE_CONTROL);
			const etag = first.headers.get("ETag");
			expect(etag, path).toMatch(/^"[\w-]{22}"$/);

			const second = await api("GET", path);
			expect(second.status, path).toBe(200);
			expect(second.headers.get("Server-Timing"), path).toMatch(/d1;dur=[\d.]+;desc="0"/);
			expect(second.headers.get("ETag"), path).toBe(etag);
			expect(second.headers.get("Cache-Control"), path).toBe(CATALOG_CACHE_CONTROL);
			expect(second.headers.get("Content-Type"), path).toMatch(/^application\/json/);
			expect(second.body, path).toEqual(first.body);
			// The Worker's own entry is fresh for 30 s and never served stale after: the client's header says
			// `stale-while-revalidate`, the stored one does not (a Cache API honouring it would answer 90 s late).
			const entry = await caches.default.match(`https://api.test${path.replace("%20", "+")}`);
			expect(entry?.headers.get("Cache-Control"), path).toBe(CATALOG_ENTRY_CACHE_CONTROL);
			await entry?.body?.cancel();
			// The answer's age counts from when the entry was stored, so a browser's max-age does too.
			expect(second.headers.get("Age"), path).toMatch(/^\d+$/);
			const now = Date.now();
			const later = vi.spyOn(Date, "now").mockReturnValue(now + 20_000);
			const aged = await api("GET", path);
			later.mockRestore();
			expect(Number(aged.headers.get("Age")), path).toBeGreaterThanOrEqual(20);
			expect(aged.headers.get("X-Catalog-Stored-At"), path).toBeNull();
			// Per-request headers are the request's own, never the stored response's.
			expect(second.headers.get("X-Request-Id"), path).toBeTruthy();
			expect(second.headers.get("X-Request-Id"), path).not.toBe(first.headers.get("X-Request-Id"));
			expect(second.headers.get("X-D1-Bookmark"), path).toBeNull();
			expect(second.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
		}
	});

	it("a malformed parameter the route does not read neither bypasses the cache nor changes the answer", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		await api("GET", `/books/${book.id}`);
		for (const path of [`/books/${book.id}?z=%ff`, `/books/${book.id}?z=%ff&y=1`]) {
			const res = await api("GET", path);
			expect(res.status, path).toBe(200);
			expect(d1RoundTrips(res), path).toBe(0);
		}
		await api("GET", "/genres");
		expect(d1RoundTrips(await api("GET", "/genres?x=%ff"))).toBe(0);
	});

	it("a hold that lapses in the cron drops the book's cached entry (under API_URL, where clients read)", async () => {
		const admin = await createAdmin();
		const reader = await createUser();
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const held = await api("POST", "/prebooks", { token: reader.token, body: { book_id: book.id } });
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const lapsed = await afterHoldOf(held.body.id);
		// Read through the API's public URL, as a client does, until the cache serves it.
		const read = async () => {
			const res = await fetchWorker(new Request(`${loadConfig(env).apiUrl}/books/${book.id}`));
			return {
				body: (await res.json()) as { held_quantity: number },
				timing: res.headers.get("Server-Timing"),
			};
		};
		await read();
		const cached = await read();
		expect(cached.timing).toMatch(/desc="0"/);
		expect(cached.body.held_quantity).toBe(1);

		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: lapsed, cron: "* * * * *" }), env, ctx);
		await waitOnExecutionContext(ctx);

		const after = await read();
		expect(after.timing).toMatch(/desc="1"/);
		expect(after.body.held_quantity).toBe(0);
	});

	it("If-None-Match naming the ETag is a 304 with no body, on a miss and on a hit", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		// The tag is a hash of the body: a cold request can compute it and still answer 304.
		const missPath = `/books/${book.id}`;
		const cold = await api("GET", missPath);
		const etag = cold.headers.get("ETag") as string;
		await caches.default.delete(new Request(`https://api.test${missPath}`));
		const miss = await api("GET", missPath, { headers: { "If-None-Match": etag } });
		expect(miss.status).toBe(304);
		expect(miss.body).toBeNull();
		expect(d1RoundTrips(miss)).toBe(1);
		expect(miss.headers.get("ETag")).toBe(etag);

		for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
			const hit = await api("GET", missPath, { headers: { "If-None-Match": ifNoneMatch } });
			expect(hit.status, ifNoneMatch).toBe(304);
			expect(hit.body, ifNoneMatch).toBeNull();
			expect(hit.headers.get("Content-Type"), ifNoneMatch).toBeNull();
			expect(hit.headers.get("ETag"), ifNoneMatch).toBe(etag);
			expect(hit.headers.get("X-Request-Id"), ifNoneMatch).toBeTruthy();
			expect(d1RoundTrips(hit), ifNoneMatch).toBe(0);
		}
		const changed = await api("GET", missPath, { headers: { "If-None-Match": '"stale"' } });
		expect(changed.status).toBe(200);
		expect(changed.body.id).toBe(book.id);
	});

	it("a change to a book drops its cached entries: the next GET is fresh (1 round trip)", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token, { stock_quantity: 2 });
		const path = `/books/${book.id}`;
		await api("GET", path);
		const cached = await api("GET", path);
		expect(d1RoundTrips(cached)).toBe(0);

		expect((await api("PATCH", `${path}/stock`, { token: admin.token, body: { quantity: 11 } })).status).toBe(
			200,
		);
		const afterStock = await api("GET", path);
		expect(d1RoundTrips(afterStock)).toBe(1);
		expect(afterStock.body.stock_quantity).toBe(11);
		expect(afterStock.headers.get("ETag")).not.toBe(cached.headers.get("ETag"));

		await api("GET", path);
		expect((await api("PATCH", path, { token: admin.token, body: { title: "Renamed" } })).status).toBe(200);
		const afterEdit = await api("GET", path);
		expect(d1RoundTrips(afterEdit)).toBe(1);
		expect(afterEdit.body.title).toBe("Renamed");

		expect((await api("DELETE", path, { token: admin.token })).status).toBe(204);
		expect((await api("GET", path)).status).toBe(404);
	});

	it("new books and genres drop the unfiltered first page and the genre list", async () => {
		const admin = await createAdmin();
		await api("GET", "/books");
		expect(d1RoundTrips(await api("GET", "/books"))).toBe(0);
		const book = await createBook(admin.token);
		const books = await api("GET", "/books");
		expect(d1RoundTrips(books)).toBe(1);
		expect(books.body.items.map((item: { id: number }) => item.id)).toContain(book.id);

		await api("GET", "/genres");
		expect(d1RoundTrips(await api("GET", "/genres"))).toBe(0);
		const name = `Genre ${crypto.randomUUID()}`;
		expect((await api("POST", "/genres", { token: admin.token, body: { name } })).status).toBe(201);
		const genres = await api("GET", "/genres");
		expect(d1RoundTrips(genres)).toBe(1);
		expect(genres.body.items.map((genre: { name: string }) => genre.name)).toContain(name);
	});

	it("an authenticated GET is neither served from nor stored in the cache", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const path = `/books/${book.id}`;
		for (let i = 0; i < 2; i++) {
			const authed = await api("GET", path, { token: admin.token });
			expect(authed.status).toBe(200);
			expect(d1RoundTrips(authed)).toBe(1);
			expect(authed.headers.get("Cache-Control")).toBe("no-store");
			expect(authed.headers.get("ETag")).toBeNull();
		}
		// Nothing was stored by those: the first public read goes to D1.
		expect(d1RoundTrips(await api("GET", path))).toBe(1);
		// And a cached entry is not served to an authenticated request.
		expect(d1RoundTrips(await api("GET", path))).toBe(0);
		expect(d1RoundTrips(await api("GET", path, { token: admin.token }))).toBe(1);
	});

	it("a malformed or forged Authorization header is still served from the cache; only a valid token skips it", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const path = `/books/${book.id}`;
		expect(d1RoundTrips(await api("GET", path))).toBe(1);
		const [header, payload] = admin.token.split(".");
		for (const authorization of [
			"Bearer garbage",
			"Basic Zm9vOmJhcg==",
			`Bearer ${header}.${payload}.forged`,
			"",
		]) {
			const res = await api("GET", path, { headers: { Authorization: authorization } });
			expect(d1RoundTrips(res), authorization).toBe(0);
			expect(res.headers.get("Cache-Control"), authorization).toBe(CATALOG_CACHE_CONTROL);
		}
		expect(d1RoundTrips(await api("GET", path, { token: admin.token }))).toBe(1);
	});

	it("a bookmark no newer than the cached answer is served from the cache and rewrites nothing", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const path = `/books/${book.id}`;
		const first = await api("GET", path);
		const seen = first.headers.get("X-D1-Bookmark") as string;
		expect(seen).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
		const put = vi.spyOn(caches.default, "put");
		const older = "00000000-00000000-00000000-00000000000000000000000000000000";
		for (const bookmark of [seen, older, seen.toUpperCase(), older, seen]) {
			const res = await api("GET", path, { headers: { "X-D1-Bookmark": bookmark } });
			expect(d1RoundTrips(res), bookmark).toBe(0);
			expect(res.body, bookmark).toEqual(first.body);
		}
		expect(put).not.toHaveBeenCalled();
	});

	it("a bookmark newer than the cached answer reads D1 (its own writes) and refreshes the entry once", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token, { stock_quantity: 3 });
		const path = `/books/${book.id}`;
		expect(d1RoundTrips(await api("GET", path))).toBe(1);
		// A write whose purge this data center never saw (cache.delete is local): the entry is now stale.
		const elsewhere = env.DB.withSession("first-primary");
		await elsewhere.prepare("UPDATE books SET stock_quantity = 4 WHERE id = ?").bind(book.id).run();
		const bookmark = elsewhere.getBookmark() as string;
		const put = vi.spyOn(caches.default, "put");
		const mine = await api("GET", path, { headers: { "X-D1-Bookmark": bookmark } });
		expect(d1RoundTrips(mine)).toBe(1);
		expect(mine.body.stock_quantity).toBe(4);
		expect(mine.headers.get("X-D1-Bookmark")).toBeTruthy();
		expect(put).toHaveBeenCalledTimes(1);
		// The refreshed entry answers that bookmark, and everybody else, from the cache.
		for (const headers of [{ "X-D1-Bookmark": bookmark }, {}] as Record<string, string>[]) {
			const again = await api("GET", path, { headers });
			expect(d1RoundTrips(again)).toBe(0);
			expect(again.body.stock_quantity).toBe(4);
		}
		expect(put).toHaveBeenCalledTimes(1);
		// A garbage bookmark is ignored: the cache answers.
		expect(d1RoundTrips(await api("GET", path, { headers: { "X-D1-Bookmark": "garbage" } }))).toBe(0);
		// A bookmark "from the future" reads D1, but never becomes the entry's: real bookmarks still refresh it.
		const forged = `ffffffff-ffffffff-ffffffff-${"f".repeat(32)}`;
		expect(d1RoundTrips(await api("GET", path, { headers: { "X-D1-Bookmark": forged } }))).toBe(1);
		expect(put).toHaveBeenCalledTimes(1);
		await elsewhere.prepare("UPDATE books SET stock_quantity = 5 WHERE id = ?").bind(book.id).run();
		const later = await api("GET", path, { headers: { "X-D1-Bookmark": elsewhere.getBookmark() as string } });
		expect(later.body.stock_quantity).toBe(5);
		expect(d1RoundTrips(await api("GET", path))).toBe(0);
		expect((await api("GET", path)).body.stock_quantity).toBe(5);
	});

	it("errors and per-user responses are never cached", async () => {
		const missing = await api("GET", "/books/999999999");
		expect(missing.status).toBe(404);
		expect(missing.headers.get("Cache-Control")).toBe("no-store");
		expect(d1RoundTrips(await api("GET", "/books/999999999"))).toBe(1);
		expect((await api("GET", "/books?limit=0")).headers.get("Cache-Control")).toBe("no-store");

		const user = await createUser();
		for (const path of ["/users/me", "/prebooks", "/wishlist", "/cart", "/orders"]) {
			const res = await api("GET", path, { token: user.token });
			expect(res.status, path).toBe(200);
			expect(res.headers.get("Cache-Control"), path).toBe("no-store");
			expect(res.headers.get("ETag"), path).toBeNull();
		}
	});

	it("without an execution context (app.request) a miss is stored before answering, never a 500", async () => {
		const path = "/genres";
		await caches.default.delete(new Request(`https://api.test${path}`));
		const res = await app.request(`https://api.test${path}`, {}, env);
		expect(res.status).toBe(200);
		expect(res.headers.get("ETag")).toBeTruthy();
		expect(d1RoundTrips(await api("GET", path))).toBe(0);
	});

	it("keys entries on the route's own parameters only: unknown ones neither miss nor reach D1", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token, { author: `Keyed ${crypto.randomUUID()}` });
		const author = `author=${encodeURIComponent(book.author as string)}`;
		const first = await api("GET", `/books?${author}&x=${crypto.randomUUID()}`);
		expect(d1RoundTrips(first)).toBe(1);
		expect(first.body.items.map((b: { id: number }) => b.id)).toEqual([book.id]);
		// Another unknown parameter, and the declared ones in another order: the same entry.
		for (const path of [
			`/books?x=${crypto.randomUUID()}&${author}`,
			`/books?utm_source=mail&${author}`,
			`/books?y=1&${author}&y=2`,
		]) {
			const again = await api("GET", path);
			expect(again.headers.get("Server-Timing"), path).toMatch(/d1;dur=[\d.]+;desc="0"/);
			expect(again.body, path).toEqual(first.body);
		}
		const ordered = await api("GET", `/books?limit=5&${author}&in_stock=true`);
		expect(d1RoundTrips(ordered)).toBe(1);
		const reordered = await api("GET", `/books?in_stock=true&z=1&${author}&limit=5`);
		expect(d1RoundTrips(reordered)).toBe(0);
		// A declared parameter still makes its own entry, however it is spelled; `/books?x=1` is `/books`.
		const other = await api("GET", `/books?${author}&q=${encodeURIComponent("no such title")}`);
		expect(d1RoundTrips(other)).toBe(1);
		expect(other.body.items).toEqual([]);
		const spelled = await api(
			"GET",
			`/books?%61uthor=${encodeURIComponent(book.author as string)}&q=no+such+title`,
		);
		expect(d1RoundTrips(spelled)).toBe(0);
		expect(spelled.body.items).toEqual([]);
		await api("GET", "/books");
		expect(d1RoundTrips(await api("GET", `/books?x=${crypto.randomUUID()}`))).toBe(0);
		// A write forgets `/books`, also as the unknown-parameter spelling reads it.
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 9 } });
		expect(d1RoundTrips(await api("GET", `/books?x=${crypto.randomUUID()}`))).toBe(1);
	});

	it("ETags: a strong hash of the body; If-None-Match lists, weak forms and * match", async () => {
		const bytes = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;
		const tag = await etagOf(bytes('{"a":1}'));
		expect(tag).toBe(await etagOf(bytes('{"a":1}')));
		expect(tag).not.toBe(await etagOf(bytes('{"a":2}')));
		expect(matchesIfNoneMatch(tag, tag)).toBe(true);
		expect(matchesIfNoneMatch(`W/${tag}`, tag)).toBe(true);
		expect(matchesIfNoneMatch(`"x" ,  ${tag}`, tag)).toBe(true);
		expect(matchesIfNoneMatch("*", tag)).toBe(true);
		expect(matchesIfNoneMatch('"x"', tag)).toBe(false);
		expect(matchesIfNoneMatch(undefined, tag)).toBe(false);
	});
});
