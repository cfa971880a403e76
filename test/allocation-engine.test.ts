/**
 * The allocation engine (features/allocation): every change that frees copies or changes a line serves
 * the line under the book's policy now, passing over readers who cannot be told (rule 4), in the batch of
 * the change. The first three scenarios are the attacks that found the engine's predecessors wanting.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
	api,
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

const outOfStock = (fields: Record<string, unknown> = {}) =>
	createBook(admin.token, { stock_quantity: 0, ...fields });
const setStock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });
const setPolicy = (bookId: number, allocation: string) =>
	api("PATCH", `/books/${bookId}`, { token: admin.token, body: { allocation } });
const prebookOf = async (reader: TestUser, id: number) =>
	(await api("GET", `/prebooks/${id}`, { token: reader.token })).body;
const book = async (id: number) => (await api("GET", `/books/${id}`)).body;
const lineOf = async (bookId: number) =>
	(await api("GET", `/admin/books/${bookId}/prebooks`, { token: admin.token })).body.items as {
		id: number;
		status: string;
		position: number | null;
		on_hold_reason: string | null;
	}[];
/** The readers' pre-bookings of the book, made in this order: one id per reader (at most four). */
const lineUp = async (readers: TestUser[], bookId: number) =>
	(await prebookAll(readers, bookId)) as [number, number, number, number];
/** Lapses every hold of the book and runs the cron a minute later. */
async function expireHolds(bookId: number): Promise<void> {
	await env.DB.prepare(
		"UPDATE pre_bookings SET hold_expires_at = '2000-01-01T00:00:00.000Z' WHERE book_id = ? AND status = 'offered'",
	)
		.bind(bookId)
		.run();
	await runCron();
}

describe("no reader is left waiting beside an available copy", () => {
	it("hold_queue switched to notify_all while a copy is held: cancelling the hold notifies the next reader", async () => {
		const [holder, next] = [await createUser(), await createUser()];
		const { id } = await outOfStock({ allocation: "hold_queue" });
		const [heldId, nextId] = await lineUp([holder, next], id);
		await setStock(id, 1);
		expect((await prebookOf(holder, heldId)).status).toBe("offered");
		expect((await setPolicy(id, "notify_all")).status).toBe(200);
		const queue = stubQueue();
		queue.clear();

		expect((await api("DELETE", `/prebooks/${heldId}`, { token: holder.token })).status).toBe(204);

		expect(await prebookOf(next, nextId)).toMatchObject({ status: "notified", position: null });
		expect(queue.published()).toEqual([
			expect.objectContaining({ type: "prebook.notified", book_id: id, user_ids: [next.id] }),
		]);
		expect(await book(id)).toMatchObject({ held_quantity: 0, available_quantity: 1 });
		await expectInvariants();
	});

	it("hold_queue switched to notify_all while a copy is held: the expiry notifies the next reader", async () => {
		const [holder, next] = [await createUser(), await createUser()];
		const { id } = await outOfStock({ allocation: "hold_queue" });
		const [heldId, nextId] = await lineUp([holder, next], id);
		await setStock(id, 1);
		await setPolicy(id, "notify_all");
		const queue = stubQueue();
		queue.clear();

		await expireHolds(id);

		expect((await prebookOf(holder, heldId)).status).toBe("expired");
		expect((await prebookOf(next, nextId)).status).toBe("notified");
		expect(queue.published()).toEqual([
			expect.objectContaining({ type: "prebook.notified", book_id: id, user_ids: [next.id] }),
		]);
		// A notice recorded for the freed copy, visible beside the book's restocks.
		const restocks = (await api("GET", "/admin/restocks", { token: admin.token })).body.items;
		expect(restocks.filter((r: { book_id: number }) => r.book_id === id)[0]).toMatchObject({
			notified_count: 1,
			quantity_before: 1,
			quantity_after: 1,
		});
		await expectInvariants();
	});

	it("a switch to hold_queue offers the available copies to the line in the switch's batch", async () => {
		const [paused, reader] = [await createUser(), await createUser()];
		const { id } = await outOfStock();
		const [pausedId, readerId] = await lineUp([paused, reader], id);
		await env.DB.prepare("UPDATE pre_bookings SET paused_until = '2999-01-01T00:00:00.000Z' WHERE id = ?")
			.bind(pausedId)
			.run();
		await setStock(id, 2);
		expect((await prebookOf(reader, readerId)).status).toBe("notified");
		expect((await prebookOf(paused, pausedId)).on_hold_reason).toBe("paused");

		const switched = await setPolicy(id, "hold_queue");
		expect(d1RoundTrips(switched)).toBe(1);
		// The paused reader keeps waiting: the switch serves only who is servable.
		expect(await prebookOf(paused, pausedId)).toMatchObject({ status: "waiting", on_hold_reason: "paused" });
		await expectInvariants();
	});
});

describe("held copies go only to readers who can be told (rule 4)", () => {
	it("three throwaway accounts at the head of a hold_queue line are passed over, keep their place and say why", async () => {
		const unverified = await createUser({ verified: false });
		const emailsOff = await createUser();
		const deactivated = await createUser();
		const reader = await createUser();
		const { id } = await outOfStock({ allocation: "hold_queue" });
		const [unverifiedId, offId, deactivatedId, readerId] = await lineUp(
			[unverified, emailsOff, deactivated, reader],
			id,
		);
		await api("PATCH", "/users/me/preferences", { token: emailsOff.token, body: { restock_emails: false } });
		await api("PATCH", `/admin/users/${deactivated.id}`, { token: admin.token, body: { is_active: false } });
		expect((await prebookOf(reader, readerId)).position).toBe(1);

		const queue = stubQueue();
		queue.clear();
		await setStock(id, 1);

		expect((await prebookOf(reader, readerId)).status).toBe("offered");
		expect(queue.published()).toEqual([
			expect.objectContaining({ type: "prebook.offered", book_id: id, user_ids: [reader.id] }),
		]);
		expect(await prebookOf(unverified, unverifiedId)).toMatchObject({
			status: "waiting",
			position: null,
			on_hold_reason: "email_unverified",
		});
		expect(await prebookOf(emailsOff, offId)).toMatchObject({
			status: "waiting",
			position: null,
			on_hold_reason: "emails_off",
		});
		const line = await lineOf(id);
		expect(line.map((entry) => [entry.id, entry.status, entry.on_hold_reason, entry.position])).toEqual([
			[unverifiedId, "waiting", "email_unverified", null],
			[offId, "waiting", "emails_off", null],
			[deactivatedId, "waiting", "account_deactivated", null],
			[readerId, "offered", null, null],
		]);
		await expectInvariants();
	});

	it("a holder deactivated by an admin: the held copy goes to the next in line at once, and they keep their place", async () => {
		const [holder, next] = [await createUser(), await createUser()];
		const { id } = await outOfStock({ allocation: "hold_queue" });
		const [holderId, nextId] = await lineUp([holder, next], id);
		await setStock(id, 1);
		expect((await prebookOf(holder, holderId)).status).toBe("offered");
		const queue = stubQueue();
		queue.clear();

		const off = await api("PATCH", `/admin/users/${holder.id}`, {
			token: admin.token,
			body: { is_active: false },
		});
		expect(off.status).toBe(200);
		expect(await prebookOf(next, nextId)).toMatchObject({ status: "offered" });
		expect(queue.published()).toEqual([
			expect.objectContaining({ type: "prebook.offered", book_id: id, user_ids: [next.id] }),
		]);
		expect(await book(id)).toMatchObject({ held_quantity: 1, available_quantity: 0 });
		expect((await lineOf(id)).map((entry) => [entry.id, entry.status, entry.on_hold_reason])).toEqual([
			[holderId, "waiting", "account_deactivated"],
			[nextId, "offered", null],
		]);
		await expectInvariants();

		// Reactivated, they are back at the front of the line for the next copy, their passes untouched.
		await api("PATCH", `/admin/users/${holder.id}`, { token: admin.token, body: { is_active: true } });
		const back = (await lineOf(id)).find((entry: { id: number }) => entry.id === holderId);
		expect(back).toMatchObject({ status: "waiting", on_hold_reason: null, position: 1 });
		const passes = await env.DB.prepare("SELECT passes_left FROM pre_bookings WHERE id = ?")
			.bind(holderId)
			.first<{ passes_left: number }>();
		expect(passes?.passes_left).toBe(2);
		await expectInvariants();
	});

	it("turning restock emails back on gives that reader the copy waiting beside them, in the same request", async () => {
		const reader = await createUser();
		const { id } = await outOfStock({ allocation: "hold_queue" });
		const [prebookId] = await lineUp([reader], id);
		await api("PATCH", "/users/me/preferences", { token: reader.token, body: { restock_emails: false } });
		await setStock(id, 1);
		expect(await book(id)).toMatchObject({ held_quantity: 0, available_quantity: 1 });
		const queue = stubQueue();
		queue.clear();

		const on = await api("PATCH", "/users/me/preferences", {
			token: reader.token,
			body: { restock_emails: true },
		});
		expect(on.status).toBe(200);
		expect(d1RoundTrips(on)).toBe(1);

		expect(await prebookOf(reader, prebookId)).toMatchObject({ status: "offered", on_hold_reason: null });
		expect(queue.published()).toEqual([
			expect.objectContaining({ type: "prebook.offered", book_id: id, user_ids: [reader.id] }),
		]);
		// The catalog entry was dropped: the copy is held now.
		expect(await book(id)).toMatchObject({ held_quantity: 1, available_quantity: 0 });
		await expectInvariants();
	});

	it("a pause that lapses gives the reader the next free copy (the cron)", async () => {
		const [paused, other] = [await createUser(), await createUser()];
		const { id } = await outOfStock({ allocation: "hold_queue" });
		const [pausedId, otherId] = await lineUp([paused, other], id);
		await env.DB.prepare("UPDATE pre_bookings SET paused_until = ? WHERE id = ?")
			.bind(new Date(Date.now() + 60_000).toISOString(), pausedId)
			.run();
		await setStock(id, 2);
		expect((await prebookOf(other, otherId)).status).toBe("offered");
		expect(await prebookOf(paused, pausedId)).toMatchObject({
			status: "waiting",
			on_hold_reason: "paused",
			position: null,
		});
		const queue = stubQueue();
		queue.clear();

		await runCron(Date.now() + 120_000);

		expect(await prebookOf(paused, pausedId)).toMatchObject({
			status: "offered",
			paused_until: null,
			on_hold_reason: null,
		});
		expect(queue.published()).toEqual([
			expect.objectContaining({ type: "prebook.offered", book_id: id, user_ids: [paused.id] }),
		]);
		await expectInvariants();
	});

	it("a reactivated reader is served the copy waiting beside them", async () => {
		const reader = await createUser();
		const { id } = await outOfStock({ allocation: "hold_queue" });
		const [prebookId] = await lineUp([reader], id);
		await api("PATCH", `/admin/users/${reader.id}`, { token: admin.token, body: { is_active: false } });
		await setStock(id, 1);
		expect(await book(id)).toMatchObject({ available_quantity: 1 });

		await api("PATCH", `/admin/users/${reader.id}`, { token: admin.token, body: { is_active: true } });

		const status = await env.DB.prepare("SELECT status FROM pre_bookings WHERE id = ?")
			.bind(prebookId)
			.first("status");
		expect(status).toBe("offered");
		await expectInvariants();
	});

	it("notify_all still notifies readers who cannot be told, but never a paused one", async () => {
		const unverified = await createUser({ verified: false });
		const paused = await createUser();
		const { id } = await outOfStock();
		const [unverifiedId, pausedId] = await lineUp([unverified, paused], id);
		await env.DB.prepare("UPDATE pre_bookings SET paused_until = '2999-01-01T00:00:00.000Z' WHERE id = ?")
			.bind(pausedId)
			.run();
		expect((await prebookOf(unverified, unverifiedId)).on_hold_reason).toBeNull();
		expect((await prebookOf(unverified, unverifiedId)).position).toBe(1);

		await setStock(id, 1);

		expect((await prebookOf(unverified, unverifiedId)).status).toBe("notified");
		expect(await prebookOf(paused, pausedId)).toMatchObject({ status: "waiting", on_hold_reason: "paused" });
		await expectInvariants();
	});
});

describe("erasure", () => {
	it("erasing the holder of the last copy frees it and drops the cached catalog entry", async () => {
		const holder = await createUser();
		const { id } = await outOfStock({ allocation: "hold_queue" });
		await lineUp([holder], id);
		await setStock(id, 1);
		const path = `/books/${id}`;
		await api("GET", path);
		const cached = await api("GET", path);
		expect(d1RoundTrips(cached)).toBe(0);
		expect(cached.body).toMatchObject({ held_quantity: 1, available_quantity: 0 });

		const erased = await api("DELETE", "/users/me", {
			token: holder.token,
			body: { password: "correct horse battery" },
		});
		expect(erased.status).toBe(204);

		const fresh = await api("GET", path);
		expect(d1RoundTrips(fresh)).toBe(1);
		expect(fresh.body).toMatchObject({ held_quantity: 0, available_quantity: 1 });
		await expectInvariants();
	});
});
