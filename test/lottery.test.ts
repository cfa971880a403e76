/**
 * `lottery` (API.md, Pre-bookings rule 8): a draw anyone can verify. The checks below recompute the draw
 * with WebCrypto, independently of the product's code: SHA-256 of the published seed is the commitment
 * shown before the draw, every score is HMAC-SHA256(seed, "<draw_id>:<prebook_id>"), the winners are the
 * lowest scores. Its own file: the cron it runs completes and opens draws of every book.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { forgetPolicies } from "../src/features/allocation/expected-policy";
import { PREBOOK_QUEUE_NAME } from "../src/prebook-emails/email-consumer";
import {
	addToCart,
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	deliver,
	prebookAll,
	recordEmails,
	runAfterCommitSteps,
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

const hex = (bytes: ArrayBuffer) =>
	[...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
const bytes = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
/** A restock, and what follows it on the queue (the closed draw scored and its winners offered). */
const setStock = async (bookId: number, quantity: number) => {
	const res = await api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });
	await runAfterCommitSteps();
	return res;
};
const drawsOf = async (bookId: number) => (await api("GET", `/books/${bookId}/draws`)).body.items;
const entriesOf = async (bookId: number, drawId: number) =>
	(await api("GET", `/books/${bookId}/draws/${drawId}/entries?limit=100`)).body.items as {
		prebook_id: number;
		score: string;
		won: boolean;
	}[];
const statusOf = async (id: number) =>
	(await env.DB.prepare("SELECT status FROM pre_bookings WHERE id = ?").bind(id).first<{ status: string }>())
		?.status;

/** A verifier as an outsider would write it: true when the closed draw checks out. */
async function verify(
	bookId: number,
	draw: { id: number; seed: string; seed_commitment: string; copies: number },
) {
	const entries = await entriesOf(bookId, draw.id);
	expect(hex(await crypto.subtle.digest("SHA-256", bytes(draw.seed)))).toBe(draw.seed_commitment);
	const key = await crypto.subtle.importKey(
		"raw",
		bytes(draw.seed),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	for (const entry of entries) {
		const expected = hex(
			await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${draw.id}:${entry.prebook_id}`)),
		);
		expect(entry.score).toBe(expected);
	}
	const byScore = [...entries].sort((a, b) => (a.score < b.score ? -1 : 1));
	expect(entries).toEqual(byScore);
	return entries;
}

describe("lottery", () => {
	it("a restock answers once the draw is closing and its copies held; the queue's step scores it", async () => {
		const readers = [await createUser(), await createUser(), await createUser()];
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "lottery" });
		const ids = await prebookAll(readers, book.id);
		const queue = stubQueue();
		const res = await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		// Nobody has won or lost a draw that is not decided yet.
		const prebookOf = async (i: number) =>
			(await api("GET", `/prebooks/${ids[i]}`, { token: (readers[i] as TestUser).token })).body;
		expect((await prebookOf(0)).draw).toBeNull();
		expect(res.status).toBe(200);
		// Nobody else can buy the copies while the draw is scored…
		expect(res.body).toMatchObject({ held_quantity: 2, available_quantity: 0 });
		// (A closing draw is shown open, its seed still secret: the contract knows only open and closed.)
		const [closing] = await drawsOf(book.id);
		expect(closing).toMatchObject({ status: "open", seed: null });
		expect(queue.steps()).toEqual([{ kind: "draw", id: closing.id }]);
		await expectInvariants();
		// …and the step completes it: the seed published, two winners offered, a new draw open.
		expect(await runAfterCommitSteps()).toBe(1);
		const [next, closed] = await drawsOf(book.id);
		expect(next).toMatchObject({ status: "open" });
		expect(closed).toMatchObject({
			id: closing.id,
			status: "closed",
			seed: expect.stringMatching(/^[0-9a-f]{64}$/),
		});
		expect((await api("GET", `/books/${book.id}`)).body).toMatchObject({ held_quantity: 2 });
		// Decided: each entrant's pre-booking names the draw and whether it won there.
		const draws = await Promise.all([0, 1, 2].map(prebookOf));
		expect(draws.map((prebook) => prebook.draw?.draw_id)).toEqual([closing.id, closing.id, closing.id]);
		expect(draws.filter((prebook) => prebook.draw?.won).map((prebook) => prebook.status)).toEqual([
			"offered",
			"offered",
		]);
		await expectInvariants();

		// Switched to hold_queue, its copies go by line order: no pre-booking shows a draw any more (API.md:
		// `draw` is null on other books), not even the loser a pass or an expiry may now offer a copy.
		await api("PATCH", `/books/${book.id}`, { token: admin.token, body: { allocation: "hold_queue" } });
		expect((await Promise.all([0, 1, 2].map(prebookOf))).map((prebook) => prebook.draw)).toEqual([
			null,
			null,
			null,
		]);
	});

	it("commits to the seed before anyone enters, draws the lowest scores, and everyone can check it", async () => {
		const readers: TestUser[] = [];
		for (let i = 0; i < 6; i++) readers.push(await createUser());
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "lottery" });
		const [open] = await drawsOf(book.id);
		expect(open).toMatchObject({ status: "open", seed: null, entries: 0 });
		expect(open.seed_commitment).toMatch(/^[0-9a-f]{64}$/);
		expectError409(await api("GET", `/books/${book.id}/draws/${open.id}/entries`));

		const ids = await prebookAll(readers, book.id);
		expect((await api("GET", `/prebooks/${ids[0]}`, { token: readers[0]?.token })).body).toMatchObject({
			position: null,
			draw: null,
		});
		await registerWebhook(admin.token, ["draw.closed"]);
		const queue = stubQueue();
		queue.clear();

		expect((await setStock(book.id, 2)).status).toBe(200);

		const [next, closed] = await drawsOf(book.id);
		expect(next).toMatchObject({ status: "open", seed: null });
		expect(next.seed_commitment).not.toBe(open.seed_commitment);
		expect(closed).toMatchObject({ id: open.id, status: "closed", copies: 2, entries: 6 });
		expect(closed.seed_commitment).toBe(open.seed_commitment);
		const entries = await verify(book.id, closed);
		expect(entries.map((entry) => entry.won)).toEqual([true, true, false, false, false, false]);
		// Integrators hear of it with the seed (webhook draw.closed).
		const [closedEvent] = await eventsOf("draw.closed", "json_extract(payload, '$.draw_id') = ?", closed.id);
		expect(closedEvent?.data).toMatchObject({
			draw_id: closed.id,
			book_id: book.id,
			seed: closed.seed,
			seed_commitment: open.seed_commitment,
			copies: 2,
			entries: 6,
		});
		const winners = entries.slice(0, 2).map((entry) => entry.prebook_id);
		for (const id of ids) expect(await statusOf(id)).toBe(winners.includes(id) ? "offered" : "waiting");
		expect(queue.published()).toEqual([
			expect.objectContaining({
				type: "prebook.offered",
				book_id: book.id,
				user_ids: expect.arrayContaining(
					readers.filter((_, i) => winners.includes(ids[i] as number)).map((r) => r.id),
				),
			}),
		]);
		const winner = readers[ids.indexOf(winners[0] as number)] as TestUser;
		expect((await api("GET", `/prebooks/${winners[0]}`, { token: winner.token })).body.draw).toEqual({
			draw_id: closed.id,
			won: true,
		});
		// The copies are held for the winners: nobody else can buy them.
		expect((await api("GET", `/books/${book.id}`)).body).toMatchObject({
			held_quantity: 2,
			available_quantity: 0,
		});
		expect((await addToCart(await createUser(), book.id, 1)).status).toBe(409);
		await expectInvariants();

		// Expired offers go to the next lowest scores of the same draw.
		await env.DB.prepare(
			"UPDATE pre_bookings SET hold_expires_at = '2000-01-01T00:00:00.000Z' WHERE book_id = ? AND status = 'offered'",
		)
			.bind(book.id)
			.run();
		await runCron();
		const runnersUp = entries.slice(2, 4).map((entry) => entry.prebook_id);
		for (const id of runnersUp) expect(await statusOf(id)).toBe("offered");
		expect((await entriesOf(book.id, closed.id)).filter((entry) => entry.won)).toHaveLength(4);
		await expectInvariants();
	});

	it("a winner's email says the draw picked them, with the hold's end in their time zone", async () => {
		const winner = await createUser();
		await api("PATCH", "/users/me/preferences", {
			token: winner.token,
			body: { time_zone: "Europe/Berlin" },
		});
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "lottery" });
		await prebookAll([winner], book.id);
		const queue = stubQueue();
		queue.clear();
		await setStock(book.id, 1);
		const mail = recordEmails();

		await deliver(PREBOOK_QUEUE_NAME, queue.published());

		const [email] = mail.mock.calls.map(([message]) => message as { subject: string; text: string });
		expect(email?.subject).toBe(`You won the draw: ${book.title}`);
		expect(email?.text).toContain(`/books/${book.id}/draws`);
		expect(email?.text).toContain("(Europe/Berlin)");
	});

	it("a winner's pass that closes the next draw answers at once (one round trip); the draw is scored after", async () => {
		const [first, second, latecomer] = [await createUser(), await createUser(), await createUser()];
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "lottery" });
		const ids = await prebookAll([first, second] as TestUser[], book.id);
		const queue = stubQueue();
		await setStock(book.id, 1);
		const [next, closed] = await drawsOf(book.id);
		const winner = (await entriesOf(book.id, closed.id)).find((entry) => entry.won)?.prebook_id;
		const [winnerReader, runnerUp] = winner === ids[0] ? [first, second] : [second, first];
		// No runner-up left to take a passed copy (the other entrant cancelled); a latecomer waits for the next draw.
		const runnerUpId = ids.find((id) => id !== winner);
		await api("DELETE", `/prebooks/${runnerUpId}`, { token: (runnerUp as TestUser).token });
		const [latecomerId] = await prebookAll([latecomer] as TestUser[], book.id);
		queue.clear();
		const passed = await api("POST", `/prebooks/${winner}/pass`, { token: (winnerReader as TestUser).token });
		expect(passed.status).toBe(200);
		expect(d1RoundTrips(passed)).toBe(1);
		// The passer keeps waiting, paused; the copy is held for the next draw, which closed on the latecomer.
		expect(passed.body).toMatchObject({ status: "waiting", on_hold_reason: "paused" });
		expect(queue.steps()).toEqual([{ kind: "draw", id: next.id }]);
		expect((await api("GET", `/books/${book.id}`)).body).toMatchObject({ held_quantity: 1 });
		expect(await runAfterCommitSteps()).toBe(1);
		expect(await statusOf(latecomerId as number)).toBe("offered");
		await expectInvariants();
	});

	it("a book that left the lottery offers its copies without touching its last draw's record", async () => {
		const readers = [await createUser(), await createUser(), await createUser()];
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "lottery" });
		await prebookAll(readers, book.id);
		stubQueue();
		await setStock(book.id, 1);
		const [, closed] = await drawsOf(book.id);
		const before = await entriesOf(book.id, closed.id);
		expect(before.filter((entry) => entry.won)).toHaveLength(1);
		// Now a hold queue: the next copy goes to the first in line, which the old draw does not record.
		await api("PATCH", `/books/${book.id}`, { token: admin.token, body: { allocation: "hold_queue" } });
		// Restocked by an isolate that never saw the book: every policy's statements, the lottery's included.
		forgetPolicies();
		await setStock(book.id, 2);
		expect(await entriesOf(book.id, closed.id)).toEqual(before);
		await expectInvariants();
	});

	it("a draw left half-done (closed on its entries, never scored) is completed by the cron", async () => {
		const readers = [await createUser(), await createUser(), await createUser()];
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "lottery" });
		const ids = await prebookAll(readers, book.id);
		const [open] = await drawsOf(book.id);
		// What the engine's batch commits before the Worker dies: the copy held for the draw, entries fixed.
		await env.DB.batch([
			env.DB.prepare(
				"UPDATE draws SET status = 'closing', closing_at = '2000-01-01T00:00:00.000Z', copies = 1, entries = 3 WHERE id = ?",
			).bind(open.id),
			env.DB.prepare("INSERT INTO draw_entries (draw_id, prebook_id) SELECT ?, value FROM json_each(?)").bind(
				open.id,
				JSON.stringify(ids),
			),
			env.DB.prepare("UPDATE books SET stock_quantity = 1, held_quantity = 1 WHERE id = ?").bind(book.id),
		]);
		await expectInvariants();

		await runCron();

		const [, closed] = await drawsOf(book.id);
		expect(closed).toMatchObject({ id: open.id, status: "closed", copies: 1, entries: 3 });
		const entries = await verify(book.id, closed);
		expect(await statusOf(entries[0]?.prebook_id as number)).toBe("offered");
		await expectInvariants();
	});

	it("30 pre-bookings racing a restock: the invariants hold and every entrant is in the draw or waits for the next", async () => {
		const readers: TestUser[] = [];
		for (let i = 0; i < 30; i++) readers.push(await createUser());
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "lottery" });
		const results = await Promise.all([
			...readers.map((reader) =>
				api("POST", "/prebooks", { token: reader.token, body: { book_id: book.id } }),
			),
			setStock(book.id, 3),
		]);
		const made = results.slice(0, 30).filter((res) => res.status === 201);
		for (const res of results.slice(0, 30)) expect([201, 409]).toContain(res.status);
		await expectInvariants();
		const drawn = new Set(
			(
				await env.DB.prepare(
					"SELECT e.prebook_id FROM draw_entries AS e JOIN draws AS d ON d.id = e.draw_id WHERE d.book_id = ?",
				)
					.bind(book.id)
					.all<{ prebook_id: number }>()
			).results.map((row) => row.prebook_id),
		);
		for (const res of made) {
			const status = await statusOf(res.body.id);
			expect(drawn.has(res.body.id) || status === "waiting").toBe(true);
		}
		const offered = (
			await env.DB.prepare("SELECT count(*) AS n FROM pre_bookings WHERE book_id = ? AND status = 'offered'")
				.bind(book.id)
				.first<{ n: number }>()
		)?.n;
		expect(offered).toBe(Math.min(3, made.length));
	});
});

function expectError409(res: { status: number; body: { code: string } }) {
	expect(res.status).toBe(409);
	expect(res.body.code).toBe("DRAW_OPEN");
}
