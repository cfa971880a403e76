/**
 * `waves` (API.md, Pre-bookings rule 6): a restock emails the first ceil(available × wave_factor) servable
 * readers in line, and the cron the next wave every `wave_minutes` while copies remain, each wave sized on
 * what is still available; sold out, the rest keep their place. Its own file: the cron sweeps every book.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
	api,
	buy,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	prebookAll,
	runCron,
	stubQueue,
	type TestUser,
} from "./helpers";
import { expectInvariants } from "./invariants";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const MINUTE = 60_000;
const setStock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });
const statusesOf = async (readers: TestUser[], ids: number[]) =>
	Promise.all(
		ids.map(async (id, i) => (await api("GET", `/prebooks/${id}`, { token: readers[i]?.token })).body.status),
	);
const restocksOf = async (bookId: number) =>
	(await api("GET", "/admin/restocks", { token: admin.token })).body.items.filter(
		(restock: { book_id: number }) => restock.book_id === bookId,
	);

describe("waves", () => {
	it("a restock notifies one wave; the cron notifies the next, sized on what is left; sold out, the rest wait", async () => {
		const readers: TestUser[] = [];
		for (let i = 0; i < 8; i++) readers.push(await createUser());
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "waves",
			wave_factor: 2,
			wave_minutes: 30,
		});
		expect(book).toMatchObject({ allocation: "waves", wave_factor: 2, wave_minutes: 30 });
		const ids = await prebookAll(readers, book.id);
		const queue = stubQueue();
		queue.clear();

		const restock = await setStock(book.id, 2);
		expect(d1RoundTrips(restock)).toBe(1);
		expect(await statusesOf(readers, ids)).toEqual([
			...Array(4).fill("notified"),
			...Array(4).fill("waiting"),
		]);
		expect(queue.published().flatMap((message) => message.user_ids)).toEqual(
			readers.slice(0, 4).map((r) => r.id),
		);
		expect((await api("GET", `/prebooks/${ids[4]}`, { token: readers[4]?.token })).body.position).toBe(1);

		// Not yet: the wave is 30 minutes apart.
		await runCron(Date.now() + 10 * MINUTE);
		expect((await statusesOf(readers, ids)).filter((s) => s === "notified")).toHaveLength(4);

		// One copy sold; the next wave is 1 × 2 readers.
		await buy(readers[0] as TestUser, book.id);
		queue.clear();
		await runCron(Date.now() + 31 * MINUTE);
		expect(await statusesOf(readers, ids)).toEqual([
			"fulfilled",
			...Array(5).fill("notified"),
			"waiting",
			"waiting",
		]);
		expect(queue.published().flatMap((message) => message.user_ids)).toEqual(
			readers.slice(4, 6).map((r) => r.id),
		);
		const [recorded] = await restocksOf(book.id);
		expect(recorded).toMatchObject({ reason: "restock", notified_count: 6 });
		expect(
			recorded.waves.map((wave: { wave: number; notified_count: number }) => [
				wave.wave,
				wave.notified_count,
			]),
		).toEqual([
			[1, 4],
			[2, 2],
		]);

		// Sold out: the next minute's cron leaves the rest in line.
		await setStock(book.id, 0);
		await runCron(Date.now() + 90 * MINUTE);
		expect((await statusesOf(readers, ids)).slice(6)).toEqual(["waiting", "waiting"]);

		// A new restock starts a new series at once.
		await setStock(book.id, 1);
		expect((await statusesOf(readers, ids)).slice(6)).toEqual(["notified", "notified"]);
		expect((await restocksOf(book.id))[0].waves).toHaveLength(1);
		await expectInvariants();
	});

	it("a restock on top of copies still available waits for the next wave (waves start at 0 → more)", async () => {
		const readers: TestUser[] = [];
		for (let i = 0; i < 6; i++) readers.push(await createUser());
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "waves", wave_factor: 2 });
		const ids = await prebookAll(readers, book.id);
		await setStock(book.id, 1);
		expect((await statusesOf(readers, ids)).filter((s) => s === "notified")).toHaveLength(2);

		await setStock(book.id, 2);
		await Promise.all([setStock(book.id, 3), setStock(book.id, 4)]);

		expect((await statusesOf(readers, ids)).filter((s) => s === "notified")).toHaveLength(2);
		await expectInvariants();
	});

	it("a wave passes over readers who cannot be told; they keep their place", async () => {
		const unverified = await createUser({ verified: false });
		const [a, b, c] = [await createUser(), await createUser(), await createUser()];
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "waves", wave_factor: 2 });
		const [unverifiedId, aId, bId, cId] = await prebookAll([unverified, a, b, c], book.id);

		await setStock(book.id, 1);

		expect(await statusesOf([unverified, a, b, c], [unverifiedId, aId, bId, cId] as number[])).toEqual([
			"waiting",
			"notified",
			"notified",
			"waiting",
		]);
		const line = (await api("GET", `/admin/books/${book.id}/prebooks`, { token: admin.token })).body.items;
		expect(line[0]).toMatchObject({ status: "waiting", on_hold_reason: "email_unverified", position: null });
		expect(line[3]).toMatchObject({ status: "waiting", on_hold_reason: null, position: 1 });
		await expectInvariants();
	});

	it("validates wave_factor (1–20) and wave_minutes (5–1440)", async () => {
		for (const fields of [
			{ wave_factor: 0 },
			{ wave_factor: 21 },
			{ wave_minutes: 4 },
			{ wave_minutes: 1441 },
		]) {
			const res = await api("POST", "/books", {
				token: admin.token,
				body: { title: "W", author: "A", price: "1.00", allocation: "waves", ...fields },
			});
			expect(res.status).toBe(422);
			expect(res.body.field).toBe(Object.keys(fields)[0]);
		}
	});
});
