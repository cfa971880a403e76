/**
 * The reader's waitlist (API.md, Pre-bookings: pause, resume, pass; rules 4 and 7): a paused reader keeps
 * their place and is passed over; resuming or a pause that lapses lets the engine serve them; a pass hands
 * the held copy on at once and keeps the place, twice at most.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	prebookAll,
	runCron,
	stubQueue,
	type TestUser,
} from "./helpers";
import { expectInvariants } from "./invariants";
import { eventsOf, registerWebhook } from "./webhooks-helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const holdQueueBook = () => createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue" });
const setStock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });
const prebookOf = async (reader: TestUser, id: number) =>
	(await api("GET", `/prebooks/${id}`, { token: reader.token })).body;
const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
const pause = (reader: TestUser, id: number, until: unknown) =>
	api("POST", `/prebooks/${id}/pause`, { token: reader.token, body: { until } });
const resume = (reader: TestUser, id: number) =>
	api("POST", `/prebooks/${id}/resume`, { token: reader.token });
const pass = (reader: TestUser, id: number) => api("POST", `/prebooks/${id}/pass`, { token: reader.token });
/** The readers' pre-bookings of the book, in this order (at most three). */
const lineUp = async (readers: TestUser[], bookId: number) =>
	(await prebookAll(readers, bookId)) as [number, number, number];

describe("pause and resume", () => {
	it("a paused reader is passed over by a restock and keeps their place", async () => {
		const [paused, next, later] = [await createUser(), await createUser(), await createUser()];
		const { id } = await holdQueueBook();
		const [pausedId, nextId, laterId] = await lineUp([paused, next, later], id);
		const until = inMinutes(60);

		const res = await pause(paused, pausedId, until);
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({
			status: "waiting",
			paused_until: until,
			on_hold_reason: "paused",
			position: null,
		});
		expect((await prebookOf(next, nextId)).position).toBe(1);

		await setStock(id, 1);
		expect((await prebookOf(next, nextId)).status).toBe("offered");
		expect((await prebookOf(later, laterId)).position).toBe(1);

		// Back, the paused reader is ahead of everyone who came after them.
		const resumed = await resume(paused, pausedId);
		expect(resumed.status).toBe(200);
		expect(resumed.body).toMatchObject({
			status: "waiting",
			paused_until: null,
			on_hold_reason: null,
			position: 1,
		});
		expect((await prebookOf(later, laterId)).position).toBe(2);
		await expectInvariants();
	});

	it("resuming beside an available copy gives it to the reader in the same request", async () => {
		const reader = await createUser();
		const { id } = await holdQueueBook();
		const [prebookId] = await lineUp([reader], id);
		await pause(reader, prebookId, inMinutes(60));
		await setStock(id, 1);
		const queue = stubQueue();
		queue.clear();

		const resumed = await resume(reader, prebookId);

		expect(resumed.body).toMatchObject({ status: "offered", on_hold_reason: null });
		expect(d1RoundTrips(resumed)).toBe(1);
		expect(queue.published()).toEqual([
			expect.objectContaining({ type: "prebook.offered", book_id: id, user_ids: [reader.id] }),
		]);
		await expectInvariants();
	});

	it("a pause ends by itself at `until`, and the engine serves the reader then (the cron)", async () => {
		const reader = await createUser();
		const { id } = await holdQueueBook();
		const [prebookId] = await lineUp([reader], id);
		await pause(reader, prebookId, inMinutes(1));
		await setStock(id, 1);
		expect((await prebookOf(reader, prebookId)).status).toBe("waiting");

		await runCron(Date.now() + 2 * 60_000);

		expect(await prebookOf(reader, prebookId)).toMatchObject({ status: "offered", paused_until: null });
		await expectInvariants();
	});

	it("refuses a pause in the past, beyond 180 days or of something not waiting, and a resume of nothing paused", async () => {
		const [reader, other] = [await createUser(), await createUser()];
		const { id } = await holdQueueBook();
		const [prebookId] = await lineUp([reader], id);
		expectError(
			await pause(reader, prebookId, new Date(Date.now() - 1000).toISOString()),
			422,
			"VALIDATION_ERROR",
			"until",
		);
		expectError(await pause(reader, prebookId, inMinutes(181 * 24 * 60)), 422, "VALIDATION_ERROR", "until");
		expectError(await pause(reader, prebookId, "tomorrow"), 422, "VALIDATION_ERROR", "until");
		expectError(await pause(other, prebookId, inMinutes(60)), 404, "PREBOOK_NOT_FOUND");
		expectError(await resume(reader, prebookId), 409, "PREBOOK_NOT_PAUSED");
		await setStock(id, 1);
		expectError(await pause(reader, prebookId, inMinutes(60)), 409, "PREBOOK_NOT_WAITING");
		expect((await prebookOf(reader, prebookId)).paused_until).toBeNull();
	});
});

describe("pass", () => {
	it("hands the held copy to the next in line at once; the reader keeps their place, paused 7 days", async () => {
		const [holder, next] = [await createUser(), await createUser()];
		const { id } = await holdQueueBook();
		const [heldId, nextId] = await lineUp([holder, next], id);
		await registerWebhook(admin.token, ["prebook.passed"]);
		await setStock(id, 1);
		const queue = stubQueue();
		queue.clear();

		const passed = await pass(holder, heldId);

		expect(passed.status).toBe(200);
		expect(d1RoundTrips(passed)).toBe(1);
		expect(passed.body).toMatchObject({
			status: "waiting",
			passes_left: 1,
			on_hold_reason: "paused",
			hold_expires_at: null,
		});
		const pausedFor = Date.parse(passed.body.paused_until) - Date.now();
		expect(pausedFor).toBeGreaterThan(7 * 24 * 3600_000 - 60_000);
		expect(pausedFor).toBeLessThanOrEqual(7 * 24 * 3600_000);
		expect((await prebookOf(next, nextId)).status).toBe("offered");
		expect(queue.published()).toEqual([
			expect.objectContaining({ type: "prebook.offered", book_id: id, user_ids: [next.id] }),
		]);
		const [event] = await eventsOf("prebook.passed", "json_extract(payload, '$.prebook_id') = ?", heldId);
		expect(event?.data).toMatchObject({
			prebook_id: heldId,
			book_id: id,
			user_id: holder.id,
			passes_left: 1,
		});
		await expectInvariants();
	});

	it("allows two passes per pre-booking, then 409 PREBOOK_PASS_LIMIT; only an offer can be passed", async () => {
		const reader = await createUser();
		const { id } = await holdQueueBook();
		const [prebookId] = await lineUp([reader], id);
		expectError(await pass(reader, prebookId), 409, "PREBOOK_NOT_OFFERED");
		for (const passesLeft of [1, 0]) {
			await setStock(id, 1);
			expect((await prebookOf(reader, prebookId)).status).toBe("offered");
			expect((await pass(reader, prebookId)).body.passes_left).toBe(passesLeft);
			// Nobody else waits: the copy stays available; back from the pause, the reader is offered it.
			await resume(reader, prebookId);
			await setStock(id, 0);
		}
		await setStock(id, 1);
		expect((await prebookOf(reader, prebookId)).status).toBe("offered");
		expectError(await pass(reader, prebookId), 409, "PREBOOK_PASS_LIMIT");
		expect((await prebookOf(reader, prebookId)).status).toBe("offered");
		await expectInvariants();
	});
});
