/**
 * Any edition will do (API.md, Pre-bookings): a work pre-booking waits in the line of every edition of a
 * format it accepts, in one `created_at`, `id` order with that edition's own pre-bookings; it is served
 * once, for one edition, under that edition's policy.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { PrebookMessage } from "../src/prebook-emails/messages";
import {
	api,
	buy,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	emailedLinkToken,
	expectError,
	PASSWORD,
	runAfterCommitSteps,
	runCron,
	type TestUser,
	uniqueEmail,
} from "./helpers";
import { expectInvariants } from "./invariants";
import { captureWebhookQueue, registerWebhook } from "./webhooks-helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

function captureQueue() {
	const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
	return () => sendBatch.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.body as PrebookMessage));
}

/** A work with a hardcover and a paperback edition, both out of stock, under the given policies. */
async function twoEditions(policies: { hardcover?: string; paperback?: string } = {}) {
	const work = (
		await api("POST", "/works", {
			token: admin.token,
			body: { title: `Middlemarch ${crypto.randomUUID()}`, author: "George Eliot" },
		})
	).body as { id: number; title: string };
	const hardcover = await createBook(admin.token, {
		work_id: work.id,
		format: "hardcover",
		stock_quantity: 0,
		allocation: policies.hardcover ?? "notify_all",
	});
	const paperback = await createBook(admin.token, {
		work_id: work.id,
		format: "paperback",
		stock_quantity: 0,
		allocation: policies.paperback ?? "notify_all",
	});
	return { work, hardcover, paperback };
}

/** `POST /books`: a new edition of `work` (title and author its own), with `fields`. */
const createEdition = (work: { id: number; title: string }, fields: Record<string, unknown>) =>
	api("POST", "/books", {
		token: admin.token,
		body: { title: work.title, author: "George Eliot", price: 5, work_id: work.id, ...fields },
	});

/**
 * Both editions `hold_queue`; a reader of the work holds the hardcover's copy, and the paperback then gets a
 * copy nobody else waits for (the reader, holding one, is in no line).
 */
async function holdingTheHardcover() {
	captureQueue();
	const { work, hardcover, paperback } = await twoEditions({
		hardcover: "hold_queue",
		paperback: "hold_queue",
	});
	const reader = await createUser();
	const held = (await prebookWork(reader, work.id)).body;
	expect((await setStock(hardcover.id, 1)).status).toBe(200);
	expect((await setStock(paperback.id, 1)).status).toBe(200);
	expect((await api("GET", `/books/${paperback.id}`)).body).toMatchObject({ held_quantity: 0 });
	return { work, hardcover, paperback, reader, held };
}

const prebookWork = (reader: TestUser, workId: number, formats?: string[]) =>
	api("POST", "/prebooks", {
		token: reader.token,
		body: { work_id: workId, ...(formats ? { formats } : {}) },
	});
const prebookBook = (reader: TestUser, bookId: number) =>
	api("POST", "/prebooks", { token: reader.token, body: { book_id: bookId } });
const prebookOf = async (reader: TestUser, id: number) =>
	(await api("GET", `/prebooks/${id}`, { token: reader.token })).body;
/** A restock, and what follows it on the queue (a closed draw scored and its winners offered). */
const setStock = async (bookId: number, quantity: number) => {
	const res = await api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });
	await runAfterCommitSteps();
	return res;
};

describe("POST /prebooks {work_id, formats?}", () => {
	it("pre-books a work (201): waiting, no edition yet, every format its editions have, titled by the work", async () => {
		const { work } = await twoEditions();
		const reader = await createUser();
		const res = await prebookWork(reader, work.id);
		expect(res.status, JSON.stringify(res.body)).toBe(201);
		expect(d1RoundTrips(res)).toBe(1);
		expect(res.body).toMatchObject({
			book_id: null,
			work_id: work.id,
			formats: ["hardcover", "paperback"],
			book_title: work.title,
			book_author: "George Eliot",
			status: "waiting",
			position: 1,
		});
		// The reader's export lists it too (GET /users/me/export).
		const exported = await api("GET", "/users/me/export", { token: reader.token });
		expect(exported.body.pre_bookings).toMatchObject([
			{ id: res.body.id, work_id: work.id, book_title: work.title },
		]);
	});

	it("is refused while an accepted edition is in stock (409 PREBOOK_BOOK_IN_STOCK), not when only another format is", async () => {
		const { work, paperback } = await twoEditions();
		await setStock(paperback.id, 2);
		const reader = await createUser();
		expectError(await prebookWork(reader, work.id), 409, "PREBOOK_BOOK_IN_STOCK", "work_id");
		expectError(await prebookWork(reader, work.id, ["paperback"]), 409, "PREBOOK_BOOK_IN_STOCK", "work_id");
		const hardcoverOnly = await prebookWork(reader, work.id, ["hardcover"]);
		expect(hardcoverOnly.status).toBe(201);
		expect(hardcoverOnly.body.formats).toEqual(["hardcover"]);
	});

	it("refuses duplicates both ways (409 PREBOOK_DUPLICATE): a work and a book it accepts, two of one work", async () => {
		const { work, hardcover, paperback } = await twoEditions();
		const workReader = await createUser();
		expect((await prebookWork(workReader, work.id)).status).toBe(201);
		expectError(await prebookWork(workReader, work.id), 409, "PREBOOK_DUPLICATE", "work_id");
		expectError(await prebookBook(workReader, paperback.id), 409, "PREBOOK_DUPLICATE", "book_id");

		const bookReader = await createUser();
		expect((await prebookBook(bookReader, hardcover.id)).status).toBe(201);
		expectError(await prebookWork(bookReader, work.id), 409, "PREBOOK_DUPLICATE", "work_id");
		// A work pre-booking that does not accept the hardcover is no duplicate of it.
		expect((await prebookWork(bookReader, work.id, ["paperback"])).status).toBe(201);
		await expectInvariants();
	});

	it("answers 404 WORK_NOT_FOUND, and 422 for both or neither of book_id and work_id", async () => {
		const reader = await createUser();
		expectError(await prebookWork(reader, 999999999), 404, "WORK_NOT_FOUND", "work_id");
		const { work, paperback } = await twoEditions();
		expectError(
			await api("POST", "/prebooks", {
				token: reader.token,
				body: { work_id: work.id, book_id: paperback.id },
			}),
			422,
			"VALIDATION_ERROR",
		);
		expectError(await api("POST", "/prebooks", { token: reader.token, body: {} }), 422, "VALIDATION_ERROR");
		expectError(await prebookWork(reader, work.id, ["vinyl"]), 422, "VALIDATION_ERROR");
	});

	it("a work without editions yet needs formats (422 otherwise, for guests too); with them it waits for one", async () => {
		const bare = (
			await api("POST", "/works", { token: admin.token, body: { title: "Forthcoming", author: "A" } })
		).body;
		const reader = await createUser();
		expectError(await prebookWork(reader, bare.id), 422, "VALIDATION_ERROR", "formats");
		// A string for the list is one problem, its type (not also "at most 6 characters": its length).
		const notAList = await api("POST", "/prebooks", {
			token: reader.token,
			body: { work_id: bare.id, formats: "hardcover" },
		});
		expectError(notAList, 422, "VALIDATION_ERROR", "formats");
		expect(notAList.body.errors).toHaveLength(1);
		expectError(
			await api("POST", "/prebooks/guest", { body: { email: uniqueEmail("guest-bare"), work_id: bare.id } }),
			422,
			"VALIDATION_ERROR",
			"formats",
		);
		const waiting = await prebookWork(reader, bare.id, ["ebook"]);
		expect(waiting.status).toBe(201);
		// In no line yet: no place, nobody ahead, nothing to expect (rule 12's estimate of a waiting one).
		expect(waiting.body).toMatchObject({
			status: "waiting",
			position: null,
			estimate: { expected_by: null, basis: "none", ahead: { active: 0, passed_over: 0 } },
		});
		// The ebook edition arrives with copies: the engine serves the work's line in that same batch.
		const ebook = await createBook(admin.token, { stock_quantity: 0, format: "ebook" });
		await api("PATCH", `/books/${ebook.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		await api("PATCH", `/books/${ebook.id}`, { token: admin.token, body: { work_id: bare.id } });
		expect(await prebookOf(reader, waiting.body.id)).toMatchObject({ status: "notified", book_id: ebook.id });
		await expectInvariants();
	});

	it("guests pre-book a work by email (double opt-in)", async () => {
		const { work } = await twoEditions();
		const email = uniqueEmail("guest-work");
		const asked = await api("POST", "/prebooks/guest", {
			body: { email, work_id: work.id, formats: ["paperback"] },
		});
		expect(asked.status).toBe(202);
		const confirmed = await api("POST", "/prebooks/guest/confirm", {
			body: { token: emailedLinkToken(email, "/prebooks/confirm") },
		});
		expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(201);
		expect(confirmed.body).toMatchObject({
			work_id: work.id,
			book_id: null,
			formats: ["paperback"],
			status: "waiting",
		});
	});
});

describe("one line per edition", () => {
	it("a work pre-booking's position is its place on its editions that have an order (not a lottery's)", async () => {
		captureQueue();
		const { work, paperback } = await twoEditions({ hardcover: "lottery" });
		const [first, second] = [await createUser(), await createUser()];
		await prebookBook(first, paperback.id);
		const waiting = (await prebookWork(second, work.id)).body;
		expect(await prebookOf(second, waiting.id)).toMatchObject({ status: "waiting", position: 2 });
	});

	it("a new edition created in stock serves the work pre-bookings that accept it, in the same batch", async () => {
		captureQueue();
		const { work } = await twoEditions();
		const reader = await createUser();
		const waiting = (await prebookWork(reader, work.id, ["hardcover", "ebook"])).body;
		expect(waiting).toMatchObject({ status: "waiting", book_id: null });
		const ebook = await createEdition(work, { format: "ebook", stock_quantity: 3 });
		expect(ebook.status).toBe(201);
		expect(await prebookOf(reader, waiting.id)).toMatchObject({ status: "notified", book_id: ebook.body.id });
		await expectInvariants();
	});

	it("a new hold_queue edition holds a copy for the work pre-booking, and its 201 already counts it", async () => {
		captureQueue();
		const { work } = await twoEditions();
		const reader = await createUser();
		const waiting = (await prebookWork(reader, work.id, ["ebook"])).body;
		const ebook = await createEdition(work, { format: "ebook", stock_quantity: 3, allocation: "hold_queue" });
		expect(ebook.status).toBe(201);
		expect(ebook.body).toMatchObject({ stock_quantity: 3, held_quantity: 1, available_quantity: 2 });
		expect((await api("GET", `/books/${ebook.body.id}`)).body).toMatchObject({
			held_quantity: 1,
			available_quantity: 2,
		});
		expect(await prebookOf(reader, waiting.id)).toMatchObject({ status: "offered", book_id: ebook.body.id });
		await expectInvariants();
	});

	it("an edition deleted while it holds a copy for a work pre-booking: the reader waits again, place kept, and the other edition serves them", async () => {
		captureQueue();
		const { work, hardcover, paperback } = await twoEditions({
			hardcover: "hold_queue",
			paperback: "hold_queue",
		});
		const [reader, later] = [await createUser(), await createUser()];
		const held = (await prebookWork(reader, work.id)).body;
		const behind = (await prebookWork(later, work.id)).body;
		expect((await setStock(hardcover.id, 1)).status).toBe(200);
		expect(await prebookOf(reader, held.id)).toMatchObject({ status: "offered", book_id: hardcover.id });

		// Deleted while the copy is held: the reader is back at the front of the work's line…
		expect((await api("DELETE", `/books/${hardcover.id}`, { token: admin.token })).status).toBe(204);
		expect(await prebookOf(reader, held.id)).toMatchObject({
			status: "waiting",
			book_id: null,
			work_id: work.id,
			passes_left: held.passes_left,
			position: 1,
		});
		expect(await prebookOf(later, behind.id)).toMatchObject({ status: "waiting", position: 2 });
		await expectInvariants();

		// …and the paperback's next copy is theirs, before the reader who came later.
		expect((await setStock(paperback.id, 1)).status).toBe(200);
		expect(await prebookOf(reader, held.id)).toMatchObject({ status: "offered", book_id: paperback.id });
		expect(await prebookOf(later, behind.id)).toMatchObject({ status: "waiting", position: 1 });
		await expectInvariants();
	});

	it("an edition deleted while it holds a copy for a work pre-booking: another edition in stock serves the reader in the same batch", async () => {
		const { hardcover, paperback, reader, held } = await holdingTheHardcover();

		expect((await api("DELETE", `/books/${hardcover.id}`, { token: admin.token })).status).toBe(204);
		expect(await prebookOf(reader, held.id)).toMatchObject({ status: "offered", book_id: paperback.id });
		expect((await api("GET", `/books/${paperback.id}`)).body).toMatchObject({
			held_quantity: 1,
			available_quantity: 0,
		});
		await expectInvariants();
	});

	it("an edition moved out of the work, then deleted while it holds a copy for a work pre-booking: the reader waits for the work again and is served", async () => {
		const { hardcover, paperback, reader, held } = await holdingTheHardcover();
		const moved = await api("PATCH", `/books/${hardcover.id}`, {
			token: admin.token,
			body: { work_id: null },
		});
		expect(moved.status).toBe(200);

		expect((await api("DELETE", `/books/${hardcover.id}`, { token: admin.token })).status).toBe(204);
		expect(await prebookOf(reader, held.id)).toMatchObject({ status: "offered", book_id: paperback.id });
		await expectInvariants();
	});

	it.each(["a pass", "a deactivation"])(
		"a copy handed back by %s after its edition left the work is freed, not left held for nobody",
		async (how) => {
			const { hardcover, reader, held } = await holdingTheHardcover();
			const moved = await api("PATCH", `/books/${hardcover.id}`, {
				token: admin.token,
				body: { work_id: null },
			});
			expect(moved.status).toBe(200);

			const res =
				how === "a pass"
					? await api("POST", `/prebooks/${held.id}/pass`, { token: reader.token })
					: await api("PATCH", `/admin/users/${reader.id}`, {
							token: admin.token,
							body: { is_active: false },
						});
			expect(res.status).toBe(200);
			expect((await api("GET", `/books/${hardcover.id}`)).body).toMatchObject({
				held_quantity: 0,
				available_quantity: 1,
			});
			await expectInvariants();
		},
	);

	it("an edition deleted while it holds a copy: its own demand alert stays silent, the other edition's line that grows back to its threshold is told", async () => {
		captureQueue();
		const { work, hardcover, paperback } = await twoEditions({ hardcover: "hold_queue" });
		for (const [book, threshold] of [
			[hardcover, 1],
			[paperback, 2],
		] as const) {
			const set = { demand_alert_threshold: threshold };
			expect((await api("PATCH", `/books/${book.id}`, { token: admin.token, body: set })).status).toBe(200);
		}
		const [reader, other] = [await createUser(), await createUser()];
		const held = (await prebookWork(reader, work.id)).body;
		expect((await setStock(hardcover.id, 1)).status).toBe(200);
		expect(await prebookOf(reader, held.id)).toMatchObject({ status: "offered", book_id: hardcover.id });
		await prebookBook(other, paperback.id);
		const crossings = async (bookId: number) =>
			(
				await api("GET", "/admin/events?types=demand.threshold_crossed&limit=100", { token: admin.token })
			).body.items.filter((item: { data: { book_id: number } }) => item.data.book_id === bookId);
		const hardcoverBefore = (await crossings(hardcover.id)).length;
		expect(await crossings(paperback.id)).toHaveLength(0);

		const webhooks = captureWebhookQueue();
		const hook = await registerWebhook(admin.token, ["demand.threshold_crossed"]);
		expect((await api("DELETE", `/books/${hardcover.id}`, { token: admin.token })).status).toBe(204);
		// The paperback's line: its own reader and the work reader back in it — 2, its threshold.
		const [crossed] = await crossings(paperback.id);
		expect(crossed).toMatchObject({ data: { book_id: paperback.id, waiting_count: 2 } });
		expect(await crossings(hardcover.id)).toHaveLength(hardcoverBefore);
		// Published after the response: its delivery to the endpoint is on the webhook queue.
		const delivery = await env.DB.prepare(
			"SELECT id FROM webhook_deliveries WHERE endpoint_id = ? AND event_id = ?",
		)
			.bind(hook.id, crossed?.seq)
			.first<{ id: number }>();
		expect(webhooks.ids()).toContain(delivery?.id);
		await expectInvariants();
	});

	it("hold_queue: a paperback restocked goes to the work pre-booking made before the paperback's own", async () => {
		const messages = captureQueue();
		const { work, paperback } = await twoEditions({ paperback: "hold_queue" });
		const [workReader, paperbackReader] = [await createUser(), await createUser()];
		const workPrebook = (await prebookWork(workReader, work.id)).body;
		const paperbackPrebook = (await prebookBook(paperbackReader, paperback.id)).body;
		expect(paperbackPrebook.position).toBe(2);

		expect((await setStock(paperback.id, 1)).status).toBe(200);
		expect(await prebookOf(workReader, workPrebook.id)).toMatchObject({
			status: "offered",
			book_id: paperback.id,
			work_id: work.id,
		});
		expect(await prebookOf(paperbackReader, paperbackPrebook.id)).toMatchObject({
			status: "waiting",
			position: 1,
		});
		expect(messages().filter((m) => m.type === "prebook.offered")).toMatchObject([
			{ book_id: paperback.id, user_ids: [workReader.id] },
		]);
		// Buying that edition fulfils it (rule 10).
		await buy(workReader, paperback.id);
		expect((await prebookOf(workReader, workPrebook.id)).status).toBe("fulfilled");
		await expectInvariants();
	});

	it("notify_all: the work pre-booking is notified once, for the first edition back, never again for the other", async () => {
		const messages = captureQueue();
		const { work, hardcover, paperback } = await twoEditions();
		const [workReader, hardcoverReader, paperbackReader] = [
			await createUser(),
			await createUser(),
			await createUser(),
		];
		const workPrebook = (await prebookWork(workReader, work.id)).body;
		await prebookBook(hardcoverReader, hardcover.id);
		await prebookBook(paperbackReader, paperback.id);

		await setStock(hardcover.id, 3);
		expect(await prebookOf(workReader, workPrebook.id)).toMatchObject({
			status: "notified",
			book_id: hardcover.id,
		});
		await setStock(paperback.id, 3);
		const notified = messages().filter((m) => m.type === "prebook.notified");
		expect(notified.map((m) => [m.book_id, [...m.user_ids].sort((a, b) => a - b)])).toEqual([
			[hardcover.id, [workReader.id, hardcoverReader.id].sort((a, b) => a - b)],
			[paperback.id, [paperbackReader.id]],
		]);
		expect((await prebookOf(workReader, workPrebook.id)).book_id).toBe(hardcover.id);
		await expectInvariants();
	});

	it("position is the best place over the editions; the admin's line and the demand report count it for each", async () => {
		const { work, hardcover, paperback } = await twoEditions();
		const [early, workReader] = [await createUser(), await createUser()];
		await prebookBook(early, hardcover.id);
		const workPrebook = (await prebookWork(workReader, work.id)).body;
		// Second in the hardcover's line, first in the paperback's.
		expect(workPrebook.position).toBe(1);
		expect(workPrebook.estimate.ahead).toEqual({ active: 0, passed_over: 0 });

		const line = await api("GET", `/admin/books/${hardcover.id}/prebooks`, { token: admin.token });
		expect(
			line.body.items.map((row: { user_id: number; position: number }) => [row.user_id, row.position]),
		).toEqual([
			[early.id, 1],
			[workReader.id, 2],
		]);
		const csv = await api("GET", `/admin/books/${paperback.id}/prebooks`, {
			token: admin.token,
			headers: { Accept: "text/csv" },
		});
		expect(String(csv.body)).toContain(`${workPrebook.id},${workReader.id},`);
		const demand = await api("GET", "/admin/prebooks/demand?limit=100", { token: admin.token });
		const counts = Object.fromEntries(
			demand.body.items.map((row: { book_id: number; waiting_count: number }) => [
				row.book_id,
				row.waiting_count,
			]),
		);
		expect([counts[hardcover.id], counts[paperback.id]]).toEqual([2, 1]);
	});

	it("estimate reads the edition the work pre-booking is best placed on: its supply, not the first edition's", async () => {
		const { work, hardcover, paperback } = await twoEditions();
		const [early, workReader] = [await createUser(), await createUser()];
		await prebookBook(early, hardcover.id);
		// Copies of the paperback are on their way; none of the hardcover.
		const expectedAt = new Date(Date.now() + 5 * 24 * 60 * 60 * 1000).toISOString();
		const inbound = await api("POST", `/admin/books/${paperback.id}/inbound`, {
			token: admin.token,
			body: { quantity: 4, expected_at: expectedAt },
		});
		expect(inbound.status).toBe(201);
		const created = (await prebookWork(workReader, work.id)).body;
		for (const prebook of [created, await prebookOf(workReader, created.id)]) {
			// First in the paperback's line (second in the hardcover's): the paperback's supply covers it.
			expect(prebook.position).toBe(1);
			expect(prebook.estimate).toMatchObject({
				basis: "inbound",
				ahead: { active: 0, passed_over: 0 },
				expected_by: { p50: expectedAt },
			});
		}
		const listed = (await api("GET", "/prebooks", { token: workReader.token })).body.items[0];
		expect(listed).toMatchObject({ id: created.id, position: 1, estimate: { basis: "inbound" } });
	});

	it("on_hold_reason is read over every edition it accepts: emails off is a reason when one edition passes it over", async () => {
		const { work, hardcover } = await twoEditions({ paperback: "hold_queue" });
		const [early, workReader, allNotify] = [await createUser(), await createUser(), await createUser()];
		await prebookBook(early, hardcover.id);
		for (const reader of [workReader, allNotify]) {
			const off = await api("PATCH", "/users/me/preferences", {
				token: reader.token,
				body: { restock_emails: false },
			});
			expect(off.status).toBe(200);
		}
		const created = (await prebookWork(workReader, work.id)).body;
		// The hold queue of the paperback passes over a reader who cannot be told; the hardcover's notify_all
		// does not: the reason shows, and the place is the one in the line that serves it (second).
		for (const prebook of [created, await prebookOf(workReader, created.id)]) {
			expect(prebook).toMatchObject({
				on_hold_reason: "emails_off",
				position: 2,
				estimate: { ahead: { active: 1, passed_over: 0 } },
			});
		}
		// Every edition notify_all: nobody passes it over.
		const { work: notifyAllWork } = await twoEditions();
		const plain = (await prebookWork(allNotify, notifyAllWork.id)).body;
		expect(plain).toMatchObject({ on_hold_reason: null, position: 1 });
		await expectInvariants();
	});

	it("a pass puts the work pre-booking back in every line, without an edition, and the copy goes on", async () => {
		const { work, paperback } = await twoEditions({ paperback: "hold_queue" });
		const [workReader, next] = [await createUser(), await createUser()];
		const workPrebook = (await prebookWork(workReader, work.id)).body;
		const nextPrebook = (await prebookBook(next, paperback.id)).body;
		await setStock(paperback.id, 1);
		const passed = await api("POST", `/prebooks/${workPrebook.id}/pass`, { token: workReader.token });
		expect(passed.body).toMatchObject({ status: "waiting", book_id: null, on_hold_reason: "paused" });
		expect((await prebookOf(next, nextPrebook.id)).status).toBe("offered");
		await expectInvariants();
	});

	it("copies freed on two editions at once: the work pre-booking takes one, the other goes to the next in line", async () => {
		const { work, hardcover, paperback } = await twoEditions({
			hardcover: "hold_queue",
			paperback: "hold_queue",
		});
		const holder = await createUser();
		await prebookBook(holder, hardcover.id);
		await prebookBook(holder, paperback.id);
		await setStock(hardcover.id, 1);
		await setStock(paperback.id, 1);
		// Both copies are held for the holder; then the lines fill: the work first, an edition reader each.
		const [workReader, hardcoverReader, paperbackReader] = [
			await createUser(),
			await createUser(),
			await createUser(),
		];
		const workPrebook = (await prebookWork(workReader, work.id)).body;
		const hardcoverPrebook = (await prebookBook(hardcoverReader, hardcover.id)).body;
		const paperbackPrebook = (await prebookBook(paperbackReader, paperback.id)).body;
		// The holder's erasure releases both copies in one batch: one engine run for both lines.
		const erased = await api("DELETE", "/users/me", { token: holder.token, body: { password: PASSWORD } });
		expect(erased.status).toBe(204);
		expect(await prebookOf(workReader, workPrebook.id)).toMatchObject({
			status: "offered",
			book_id: hardcover.id,
		});
		expect((await prebookOf(hardcoverReader, hardcoverPrebook.id)).status).toBe("waiting");
		expect((await prebookOf(paperbackReader, paperbackPrebook.id)).status).toBe("offered");
		await expectInvariants();
	});

	it("waves: the work pre-booking is in the first wave of the edition whose copies came back", async () => {
		const messages = captureQueue();
		const { work, paperback } = await twoEditions({ paperback: "waves" });
		await api("PATCH", `/books/${paperback.id}`, { token: admin.token, body: { wave_factor: 1 } });
		const [workReader, second] = [await createUser(), await createUser()];
		const workPrebook = (await prebookWork(workReader, work.id)).body;
		const secondPrebook = (await prebookBook(second, paperback.id)).body;
		await setStock(paperback.id, 1);
		expect(await prebookOf(workReader, workPrebook.id)).toMatchObject({
			status: "notified",
			book_id: paperback.id,
		});
		expect((await prebookOf(second, secondPrebook.id)).status).toBe("waiting");
		expect(messages().filter((m) => m.type === "prebook.notified")).toMatchObject([
			{ book_id: paperback.id, user_ids: [workReader.id] },
		]);
	});

	it("lottery: the work pre-booking enters the edition's draw, and a win gives it that edition", async () => {
		captureQueue();
		const { work, hardcover, paperback } = await twoEditions({ paperback: "lottery" });
		await runCron(); // opens the lottery book's draw
		const readers = [await createUser(), await createUser(), await createUser()];
		const ids = [(await prebookWork(readers[0] as TestUser, work.id)).body.id];
		for (const reader of readers.slice(1)) ids.push((await prebookBook(reader, paperback.id)).body.id);
		// As many copies as entrants: everyone wins, the work pre-booking with the paperback.
		expect((await setStock(paperback.id, 3)).status).toBe(200);
		const draws = (await api("GET", `/books/${paperback.id}/draws`)).body.items;
		const closed = draws.find((draw: { status: string }) => draw.status === "closed");
		expect(closed).toMatchObject({ entries: 3, copies: 3 });
		expect(await prebookOf(readers[0] as TestUser, ids[0] as number)).toMatchObject({
			status: "offered",
			book_id: paperback.id,
			draw: { draw_id: closed.id, won: true },
		});
		await expectInvariants();

		// Passed and resumed, it is offered the hardcover (hold_queue) instead: no draw gave it that copy.
		const policy = { allocation: "hold_queue" };
		expect((await api("PATCH", `/books/${hardcover.id}`, { token: admin.token, body: policy })).status).toBe(
			200,
		);
		expect((await setStock(hardcover.id, 1)).status).toBe(200);
		expect((await api("POST", `/prebooks/${ids[0]}/pass`, { token: readers[0]?.token })).status).toBe(200);
		expect((await api("POST", `/prebooks/${ids[0]}/resume`, { token: readers[0]?.token })).status).toBe(200);
		expect(await prebookOf(readers[0] as TestUser, ids[0] as number)).toMatchObject({
			status: "offered",
			book_id: hardcover.id,
			draw: null,
		});
		await expectInvariants();
	});
});

describe("races", () => {
	it("30 parallel pre-bookings (work and edition) racing restocks of both editions: invariants hold, nobody served twice", async () => {
		const messages = captureQueue();
		const { work, hardcover, paperback } = await twoEditions({
			hardcover: "notify_all",
			paperback: "hold_queue",
		});
		const readers: TestUser[] = [];
		for (let i = 0; i < 30; i++) readers.push(await createUser());
		const attempts = readers.map((reader, i) =>
			i % 3 === 0
				? prebookWork(reader, work.id)
				: prebookBook(reader, i % 3 === 1 ? hardcover.id : paperback.id),
		);
		const restocks = [setStock(paperback.id, 2), setStock(hardcover.id, 2), setStock(paperback.id, 4)];
		const results = await Promise.all([...attempts, ...restocks]);
		for (const res of results) expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
		// Every refusal is a pre-booking made once an accepted edition was back in stock.
		for (const res of results.slice(0, 30)) {
			if (res.status !== 201) expect(res.body.code).toBe("PREBOOK_BOOK_IN_STOCK");
		}
		// Then a last restock of each and a cron run (expiries, waves): still nobody served twice.
		await setStock(hardcover.id, 5);
		await setStock(paperback.id, 6);
		await runCron();
		await expectInvariants();
		const served = messages()
			.filter((m) => m.type === "prebook.notified" || m.type === "prebook.offered")
			.flatMap((m) => m.user_ids);
		expect(served.length).toBe(new Set(served).size);
		const { results: workRows } = await env.DB.prepare(
			"SELECT status, book_id FROM pre_bookings WHERE work_id = ?",
		)
			.bind(work.id)
			.all<{ status: string; book_id: number | null }>();
		for (const row of workRows) {
			expect(["notified", "offered"], JSON.stringify(row)).toContain(row.status);
			expect([hardcover.id, paperback.id]).toContain(row.book_id);
		}
	});
});
