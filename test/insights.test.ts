import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
	afterHoldOf,
	api,
	bulkLine,
	buy,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	emailedLinkToken,
	expectError,
	prebookAll,
	runCron,
	type TestUser,
	uniqueEmail,
} from "./helpers";
import { expectInvariants } from "./invariants";
import {
	captureWebhookQueue,
	eventsOf,
	registerWebhook,
	type Schema,
	schemaProblems,
} from "./webhooks-helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const DAY_MS = 24 * 60 * 60 * 1000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const today = () => dayOf(Date.now());

const insights = (query: string) => api("GET", `/admin/insights/prebooks?${query}`, { token: admin.token });
const restock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });
const readers = (n: number) => Promise.all(Array.from({ length: n }, () => createUser()));

/** Moves a pre-booking's notice back in time (what a reader who buys hours later looks like). */
const noticedHoursAgo = (prebookId: number, hours: number) =>
	env.DB.prepare("UPDATE pre_bookings SET notified_at = ? WHERE id = ?")
		.bind(new Date(Date.now() - hours * 60 * 60 * 1000).toISOString(), prebookId)
		.run();

describe("GET /admin/insights/prebooks", () => {
	it("a restock where 2 of 3 notified readers buy: 3 notified, 2 fulfilled, their lines' revenue, a median, today's row", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0, price: "12.50" });
		const [first, second, third] = await readers(3);
		if (!first || !second || !third) throw new Error("three readers");
		const storeBefore = (await insights(`from=${today()}&to=${today()}`)).body;
		const [firstId, secondId] = await prebookAll([first, second, third], book.id);
		expect((await restock(book.id, 5)).status).toBe(200);
		await noticedHoursAgo(firstId as number, 5.5);
		await noticedHoursAgo(secondId as number, 2.2);
		await buy(first, book.id, 1);
		// A line of two copies is attributed whole: the order line fulfilled the pre-booking.
		await buy(second, book.id, 2);
		// An order line that fulfilled no pre-booking (the reader never pre-booked) is not attributed.
		await buy(await createUser(), book.id, 1);

		const res = await insights(`from=${today()}&to=${today()}&book_id=${book.id}`);
		expect(res.status).toBe(200);
		expect(d1RoundTrips(res)).toBe(1);
		expect(res.body).toEqual({
			from: today(),
			to: today(),
			signups: 3,
			cancelled: 0,
			notified: 3,
			offered: 0,
			expired: 0,
			passed: 0,
			fulfilled: 2,
			conversion_rate: 0.6667,
			revenue_attributed: "37.50",
			// 5 and 2 whole hours: the mean of the two middle values.
			median_hours_to_purchase: 3.5,
			by_day: [{ day: today(), signups: 3, notified: 3, offered: 0, fulfilled: 2 }],
		});

		// The store's totals moved by the same amounts.
		const store = (await insights(`from=${today()}&to=${today()}`)).body;
		for (const key of ["signups", "notified", "fulfilled"] as const)
			expect(store[key] - storeBefore[key], key).toBe(res.body[key]);
		expect(Number(store.revenue_attributed) - Number(storeBefore.revenue_attributed)).toBeCloseTo(37.5);
	});

	it("counts passes, expiries and cancels, each on its day, and the offers they cause", async () => {
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const line = await readers(4);
		const [a, b] = line;
		if (!a || !b) throw new Error("readers");
		const [aId, bId, cId, dId] = await prebookAll(line, book.id);
		expect((await restock(book.id, 2)).status).toBe(200);
		// A passes: their copy goes to the third in line. B cancels: theirs to the fourth.
		expect((await api("POST", `/prebooks/${aId}/pass`, { token: a.token })).status).toBe(200);
		expect((await api("DELETE", `/prebooks/${bId}`, { token: b.token })).status).toBe(204);
		// Once the third and fourth holds have lapsed (quiet hours may move their end to 09:00), A is paused,
		// so nobody is offered again.
		const later = Math.max(await afterHoldOf(cId as number), await afterHoldOf(dId as number));
		await runCron(later);

		const res = await insights(`from=${today()}&to=${dayOf(later)}&book_id=${book.id}`);
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({
			signups: 4,
			offered: 4,
			passed: 1,
			cancelled: 1,
			expired: 2,
			notified: 0,
			fulfilled: 0,
			conversion_rate: 0,
			revenue_attributed: "0.00",
			median_hours_to_purchase: null,
		});
		const expiredOn = (await insights(`from=${dayOf(later)}&to=${dayOf(later)}&book_id=${book.id}`)).body;
		expect(expiredOn.expired).toBe(2);
		await expectInvariants();
	});

	it("lists every day of the period, zeros included, oldest first", async () => {
		const from = dayOf(Date.now() - 9 * DAY_MS);
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await prebookAll(await readers(2), book.id);
		const res = await insights(`from=${from}&to=${today()}&book_id=${book.id}`);
		expect(res.body.by_day).toHaveLength(10);
		expect(res.body.by_day[0]).toEqual({ day: from, signups: 0, notified: 0, offered: 0, fulfilled: 0 });
		expect(res.body.by_day.at(-1)).toEqual({
			day: today(),
			signups: 2,
			notified: 0,
			offered: 0,
			fulfilled: 0,
		});
		expect(res.body.by_day.map((row: { day: string }) => row.day)).toEqual(
			[...res.body.by_day.map((row: { day: string }) => row.day)].sort(),
		);
	});

	it("reads a row per day whatever the history (100 days of 1,000 pre-bookings: a few hundred rows)", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const pattern = `hist-${crypto.randomUUID().slice(0, 8)}`;
		await env.DB.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
			 INSERT INTO users (email, password_hash, email_verified) SELECT ? || '-' || i || '@example.com', 'x', 1 FROM n`,
		)
			.bind(pattern)
			.run();
		// History straight into D1, spread over 100 days: every row passes the triggers as the app's would.
		await env.DB.prepare(
			`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
			 SELECT id, ?, 'waiting', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (id % 100) || ' days')
			 FROM users WHERE email LIKE ?`,
		)
			.bind(book.id, `${pattern}-%`)
			.run();
		await env.DB.prepare(
			"UPDATE pre_bookings SET status = 'cancelled', cancelled_at = created_at WHERE book_id = ?",
		)
			.bind(book.id)
			.run();
		const { createDb, newD1Usage } = await import("../src/lib/db");
		const { prebookInsights } = await import("../src/features/insights/insights.service");
		const usage = newD1Usage();
		const report = await prebookInsights(createDb(env.DB, usage), {
			from: dayOf(Date.now() - 365 * DAY_MS),
			to: today(),
			bookId: book.id,
		});
		expect(report.days.reduce((sum, day) => sum + day.signups, 0)).toBe(1000);
		expect(report.days.reduce((sum, day) => sum + day.cancelled, 0)).toBe(1000);
		expect(usage.roundTrips).toBe(1);
		// 100 daily rows (and the book); the pre-bookings themselves would be over 1,000.
		expect(usage.rowsRead).toBeLessThan(300);
	});

	it("answers 404 for an unknown book, 422 for a bad or too long period, 403 for a reader", async () => {
		expectError(
			await insights(`from=${today()}&to=${today()}&book_id=999999`),
			404,
			"BOOK_NOT_FOUND",
			"book_id",
		);
		expectError(await insights(`from=2026-01-02&to=2026-01-01`), 422, "VALIDATION_ERROR", "to");
		expectError(await insights(`from=2025-01-01&to=2026-01-03`), 422, "VALIDATION_ERROR", "to");
		expect((await insights("from=2025-01-01&to=2026-01-02")).status).toBe(200);
		const impossibleDay = await insights(`from=2026-02-30&to=2026-03-01`);
		expectError(impossibleDay, 422, "VALIDATION_ERROR", "from");
		// The one problem: nothing said of the period of a day that does not exist.
		expect(impossibleDay.body.errors).toEqual([
			{ field: "from", detail: "from must be a valid YYYY-MM-DD date" },
		]);
		expectError(await insights(`to=2026-03-01`), 422, "VALIDATION_ERROR", "from");
		expectError(
			await insights(`from=2026-01-01&to=2026-01-02&book_id=0`),
			422,
			"VALIDATION_ERROR",
			"book_id",
		);
		const reader = await createUser();
		const refused = await api("GET", `/admin/insights/prebooks?from=${today()}&to=${today()}`, {
			token: reader.token,
		});
		expectError(refused, 403, "AUTH_FORBIDDEN");
	});

	it("counts a pre-booking without a book (a work's, while it waits) in the store's totals only", async () => {
		const day = "2001-02-03";
		await env.DB.prepare(
			`INSERT INTO prebook_tally (book_id, day, signups, cancelled, notified, offered, expired, passed, fulfilled,
				revenue_cents, hours) VALUES (NULL, ?, 1, 0, 0, 0, 0, 0, 0, 0, NULL)`,
		)
			.bind(day)
			.run();
		const { results } = await env.DB.prepare("SELECT book_id, signups FROM prebook_daily WHERE day = ?")
			.bind(day)
			.all();
		expect(results).toEqual([{ book_id: 0, signups: 1 }]);
		expect((await insights(`from=${day}&to=${day}`)).body.signups).toBe(1);
	});
});

describe("GET /admin/prebooks/demand: the buy signal", () => {
	/** A day's counters of a book straight into the daily table (history the report reads). */
	const seedHistory = (bookId: number, day: string, told: number, bought: number) =>
		env.DB.prepare(
			`INSERT INTO prebook_daily (book_id, day, notified, fulfilled) VALUES (?, ?, ?, ?)
			 ON CONFLICT (book_id, day) DO UPDATE SET notified = notified + excluded.notified,
				fulfilled = fulfilled + excluded.fulfilled`,
		)
			.bind(bookId, day, told, bought)
			.run();

	it("inbound, the book's own conversion over 365 days (the store's with little history) and the suggestion", async () => {
		const own = await createBook(admin.token, { stock_quantity: 0 });
		const young = await createBook(admin.token, { stock_quantity: 0 });
		// 40 told, 10 bought within the year (0.25); an older year that must not count.
		await seedHistory(own.id, dayOf(Date.now() - 30 * DAY_MS), 40, 10);
		await seedHistory(own.id, dayOf(Date.now() - 400 * DAY_MS), 1000, 1000);
		// 19 told: too little history of its own.
		await seedHistory(young.id, dayOf(Date.now() - 3 * DAY_MS), 19, 19);
		await prebookAll(await readers(7), own.id);
		await prebookAll(await readers(4), young.id);
		await api("POST", `/admin/books/${own.id}/inbound`, {
			token: admin.token,
			body: { quantity: 1, expected_at: new Date(Date.now() + 5 * DAY_MS).toISOString() },
		});

		const res = await api("GET", "/admin/prebooks/demand?limit=100", { token: admin.token });
		expect(res.status).toBe(200);
		expect(d1RoundTrips(res)).toBe(1);
		const item = (id: number) => res.body.items.find((row: { book_id: number }) => row.book_id === id);
		expect(item(own.id)).toMatchObject({
			waiting_count: 7,
			stock_quantity: 0,
			inbound_quantity: 1,
			conversion_rate: 0.25,
			// ceil(7 × 0.25) = 2, minus 0 available and 1 inbound.
			suggested_order_quantity: 1,
		});
		const store = (await insights(`from=${dayOf(Date.now() - 364 * DAY_MS)}&to=${today()}`)).body as {
			conversion_rate: number;
		};
		const youngRow = item(young.id);
		expect(youngRow).toMatchObject({
			waiting_count: 4,
			inbound_quantity: 0,
			conversion_rate: store.conversion_rate,
		});
		expect(youngRow.suggested_order_quantity).toBe(Math.max(0, Math.ceil(4 * store.conversion_rate - 1e-9)));
		for (const row of res.body.items as {
			waiting_count: number;
			conversion_rate: number;
			stock_quantity: number;
			held_quantity: number;
			inbound_quantity: number;
			suggested_order_quantity: number;
		}[]) {
			const expected = Math.max(
				0,
				Math.ceil((row.waiting_count * Math.round(row.conversion_rate * 10_000)) / 10_000) -
					(row.stock_quantity - row.held_quantity) -
					row.inbound_quantity,
			);
			expect(row.suggested_order_quantity).toBe(expected);
		}
	});

	it("an overdue shipment (expected date passed, not received) no longer lowers the suggestion: it is reported apart", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		// The store's rate stands for a young book: make this one's own (10 of 20 bought, 0.5).
		await seedHistory(book.id, dayOf(Date.now() - 10 * DAY_MS), 20, 10);
		await prebookAll(await readers(8), book.id);
		for (const [quantity, days] of [
			[3, -2],
			[1, 4],
		] as const) {
			const added = await api("POST", `/admin/books/${book.id}/inbound`, {
				token: admin.token,
				body: { quantity, expected_at: new Date(Date.now() + days * DAY_MS).toISOString() },
			});
			expect(added.status).toBe(201);
		}
		const res = await api("GET", "/admin/prebooks/demand?limit=100", { token: admin.token });
		expect(res.body.items.find((row: { book_id: number }) => row.book_id === book.id)).toMatchObject({
			waiting_count: 8,
			conversion_rate: 0.5,
			inbound_quantity: 1,
			overdue_inbound_quantity: 3,
			// ceil(8 × 0.5) = 4, minus 0 available and the 1 copy still on time.
			suggested_order_quantity: 3,
		});
	});

	it("ranks books by their waiting counters, not by reading the pre-bookings (2,000 waiting: a few dozen rows)", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await bulkLine(book.id, 2_000);
		const { createDb, newD1Usage } = await import("../src/lib/db");
		const { waitingDemand } = await import("../src/features/insights/insights.service");
		const usage = newD1Usage();
		const [top] = await waitingDemand(createDb(env.DB, usage), 5);
		expect(top).toMatchObject({ bookId: book.id, waitingCount: 2_000 });
		expect(usage.roundTrips).toBe(1);
		// The counters of every book with a line, and the top books' offers, supply and daily counters.
		expect(usage.rowsRead).toBeLessThan(500);
	});

	it("the suggestion never goes below 0 and counts available copies", async () => {
		const { suggestedOrderQuantity } = await import("../src/features/insights/insights.service");
		expect(suggestedOrderQuantity({ waiting: 100, conversionRate: 0.07, available: 0, inbound: 0 })).toBe(7);
		expect(suggestedOrderQuantity({ waiting: 3, conversionRate: 0.6667, available: 0, inbound: 0 })).toBe(3);
		expect(suggestedOrderQuantity({ waiting: 10, conversionRate: 0.5, available: 2, inbound: 1 })).toBe(2);
		expect(suggestedOrderQuantity({ waiting: 10, conversionRate: 0.5, available: 4, inbound: 9 })).toBe(0);
		expect(suggestedOrderQuantity({ waiting: 10, conversionRate: 0, available: 0, inbound: 0 })).toBe(0);
	});
});

describe("demand.threshold_crossed", () => {
	const crossingsOf = async (bookId: number) =>
		eventsOf("demand.threshold_crossed", "json_extract(payload, '$.book_id') = ?", bookId);

	it("a holder deactivated back into a line at its threshold: the crossing is published after the response", async () => {
		const queue = captureWebhookQueue();
		const hook = await registerWebhook(admin.token, ["demand.threshold_crossed"]);
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			demand_alert_threshold: 2,
		});
		const [holder, next] = await readers(2);
		await prebookAll([holder as TestUser, next as TestUser], book.id);
		expect(await crossingsOf(book.id)).toHaveLength(1);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });

		const off = await api("PATCH", `/admin/users/${holder?.id}`, {
			token: admin.token,
			body: { is_active: false },
		});
		expect(off.status).toBe(200);
		const crossings = await crossingsOf(book.id);
		expect(crossings.map((event) => event.data)).toEqual([
			{ book_id: book.id, waiting_count: 2, threshold: 2 },
			{ book_id: book.id, waiting_count: 2, threshold: 2 },
		]);
		const { results } = await env.DB.prepare(
			"SELECT id FROM webhook_deliveries WHERE endpoint_id = ? AND event_id = ?",
		)
			.bind(hook.id, crossings[1]?.id)
			.all<{ id: number }>();
		expect(queue.ids()).toContain(results[0]?.id);
	});

	it("fires once when the waiting count reaches the threshold, again only after it fell below; delivered and in the feed", async () => {
		const queue = captureWebhookQueue();
		const hook = await registerWebhook(admin.token, ["demand.threshold_crossed"]);
		const book = await createBook(admin.token, { stock_quantity: 0, demand_alert_threshold: 3 });
		expect(book.demand_alert_threshold).toBe(3);
		const line = await readers(5);
		const ids = await prebookAll(line.slice(0, 2), book.id);
		expect(await crossingsOf(book.id)).toHaveLength(0);
		ids.push(...(await prebookAll(line.slice(2, 3), book.id)));
		const first = await crossingsOf(book.id);
		expect(first.map((event) => event.data)).toEqual([{ book_id: book.id, waiting_count: 3, threshold: 3 }]);
		// Published after the response, like every event: its delivery to this endpoint is on the queue (an
		// endpoint another test of the file registered may get one too).
		const { results: deliveries } = await env.DB.prepare(
			"SELECT id, event_id FROM webhook_deliveries WHERE endpoint_id = ?",
		)
			.bind(hook.id)
			.all<{ id: number; event_id: number }>();
		expect(deliveries.map((delivery) => delivery.event_id)).toEqual([first[0]?.id]);
		expect(queue.ids()).toContain(deliveries[0]?.id);

		// Above the threshold: nothing. Down to 2 and back to 3: the second crossing.
		ids.push(...(await prebookAll(line.slice(3, 4), book.id)));
		expect(await crossingsOf(book.id)).toHaveLength(1);
		for (const [i, reader] of line.slice(0, 2).entries())
			expect((await api("DELETE", `/prebooks/${ids[i]}`, { token: reader.token })).status).toBe(204);
		expect(await crossingsOf(book.id)).toHaveLength(1);
		await prebookAll(line.slice(4, 5), book.id);
		const both = await crossingsOf(book.id);
		expect(both).toHaveLength(2);

		const feed = await api("GET", "/admin/events?types=demand.threshold_crossed&limit=100", {
			token: admin.token,
		});
		expect(
			feed.body.items.filter((item: { data: { book_id: number } }) => item.data.book_id === book.id),
		).toEqual(both.map((event) => expect.objectContaining({ seq: event.id, data: event.data })));
		const types = (await api("GET", "/admin/webhooks/event-types", { token: admin.token })).body.items as {
			type: string;
			schema: Schema;
		}[];
		const schema = types.find((item) => item.type === "demand.threshold_crossed")?.schema as Schema;
		for (const event of both) expect(schemaProblems(schema, event.data)).toEqual([]);
		expect(schemaProblems(schema, { book_id: book.id, waiting_count: "3" })).toEqual([
			"$.threshold: required",
			"$.waiting_count: not integer",
		]);
	});

	it("a pass that brings the line back to the threshold crosses it", async () => {
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			demand_alert_threshold: 2,
		});
		const line = await readers(2);
		const [firstId] = await prebookAll(line, book.id);
		expect(await crossingsOf(book.id)).toHaveLength(1);
		// The first is offered the copy: 1 waiting.
		await restock(book.id, 1);
		expect(await crossingsOf(book.id)).toHaveLength(1);
		// The first passes: back in line (2 waiting, the second crossing), then the copy goes to the second.
		expect((await api("POST", `/prebooks/${firstId}/pass`, { token: line[0]?.token })).status).toBe(200);
		expect(await crossingsOf(book.id)).toHaveLength(2);
		// A newcomer makes it 2 again: the third.
		await prebookAll(await readers(1), book.id);
		expect(await crossingsOf(book.id)).toHaveLength(3);
		await expectInvariants();
	});

	it("a threshold set below the current count waits for the count to fall below it first", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await prebookAll(await readers(3), book.id);
		const patched = await api("PATCH", `/books/${book.id}`, {
			token: admin.token,
			body: { demand_alert_threshold: 2 },
		});
		expect(patched.body.demand_alert_threshold).toBe(2);
		await prebookAll(await readers(1), book.id);
		expect(await crossingsOf(book.id)).toHaveLength(0);
		const cleared = await api("PATCH", `/books/${book.id}`, {
			token: admin.token,
			body: { demand_alert_threshold: null },
		});
		expect(cleared.body.demand_alert_threshold).toBeNull();
	});

	it("a guest's confirmed work pre-booking that brings an edition to its threshold crosses it, delivered", async () => {
		const queue = captureWebhookQueue();
		const hook = await registerWebhook(admin.token, ["demand.threshold_crossed"]);
		const work = (
			await api("POST", "/works", {
				token: admin.token,
				body: { title: `Guest demand ${crypto.randomUUID()}`, author: "Mary Shelley" },
			})
		).body as { id: number };
		const edition = await createBook(admin.token, {
			work_id: work.id,
			format: "paperback",
			stock_quantity: 0,
			demand_alert_threshold: 2,
		});
		await prebookAll(await readers(1), edition.id);
		expect(await crossingsOf(edition.id)).toHaveLength(0);
		const email = uniqueEmail("guest-demand");
		expect(
			(await api("POST", "/prebooks/guest", { body: { email, work_id: work.id, formats: ["paperback"] } }))
				.status,
		).toBe(202);
		// Counted when the link is confirmed (the pre-booking exists from then on), not when it was asked for.
		expect(await crossingsOf(edition.id)).toHaveLength(0);
		const confirmed = await api("POST", "/prebooks/guest/confirm", {
			body: { token: emailedLinkToken(email, "/prebooks/confirm") },
		});
		expect(confirmed.status).toBe(201);
		const crossed = await crossingsOf(edition.id);
		expect(crossed.map((event) => event.data)).toEqual([
			{ book_id: edition.id, waiting_count: 2, threshold: 2 },
		]);
		// Published after the response, like every event: its delivery to this endpoint is on the queue.
		const delivery = await env.DB.prepare(
			"SELECT id FROM webhook_deliveries WHERE endpoint_id = ? AND event_id = ?",
		)
			.bind(hook.id, crossed[0]?.id)
			.first<{ id: number }>();
		expect(queue.ids()).toContain(delivery?.id);
	});

	it("counts the line the demand report counts: work pre-bookings that accept the edition included", async () => {
		const queue = captureWebhookQueue();
		await registerWebhook(admin.token, ["demand.threshold_crossed"]);
		const work = (
			await api("POST", "/works", {
				token: admin.token,
				body: { title: `Demand ${crypto.randomUUID()}`, author: "George Eliot" },
			})
		).body as { id: number };
		const hardcover = await createBook(admin.token, {
			work_id: work.id,
			format: "hardcover",
			stock_quantity: 0,
			allocation: "hold_queue",
			demand_alert_threshold: 3,
		});
		const paperback = await createBook(admin.token, {
			work_id: work.id,
			format: "paperback",
			stock_quantity: 0,
			demand_alert_threshold: 2,
		});
		const [own, anyEdition, hardcoverOnly, paperbackOnly] = await readers(4);
		if (!own || !anyEdition || !hardcoverOnly || !paperbackOnly) throw new Error("four readers");
		const prebookWork = (reader: TestUser, formats: string[]) =>
			api("POST", "/prebooks", { token: reader.token, body: { work_id: work.id, formats } });
		const reported = async (bookId: number) =>
			(
				(await api("GET", "/admin/prebooks/demand?limit=100", { token: admin.token })).body.items as {
					book_id: number;
					waiting_count: number;
				}[]
			).find((item) => item.book_id === bookId)?.waiting_count;

		const any = await prebookWork(anyEdition, ["hardcover", "paperback"]);
		expect(any.status).toBe(201);
		await prebookAll([own], hardcover.id);
		expect(await crossingsOf(hardcover.id)).toHaveLength(0);
		// The third in the hardcover's line is a work pre-booking: the report says 3, and so does the alert.
		const third = await prebookWork(hardcoverOnly, ["hardcover"]);
		expect(third.status).toBe(201);
		expect(await reported(hardcover.id)).toBe(3);
		expect((await crossingsOf(hardcover.id)).map((event) => event.data)).toEqual([
			{ book_id: hardcover.id, waiting_count: 3, threshold: 3 },
		]);
		// The paperback's line is the two work pre-bookings that accept it.
		expect((await prebookWork(paperbackOnly, ["paperback"])).status).toBe(201);
		expect(await reported(paperback.id)).toBe(2);
		expect((await crossingsOf(paperback.id)).map((event) => event.data)).toEqual([
			{ book_id: paperback.id, waiting_count: 2, threshold: 2 },
		]);
		// Published after the response: both events' deliveries are on the queue.
		const delivered = await env.DB.prepare(
			`SELECT DISTINCT event_id FROM webhook_deliveries WHERE id IN (SELECT value FROM json_each(?)) ORDER BY event_id`,
		)
			.bind(JSON.stringify(queue.ids()))
			.all<{ event_id: number }>();
		const crossed = [...(await crossingsOf(hardcover.id)), ...(await crossingsOf(paperback.id))];
		expect(delivered.results.map((row) => row.event_id)).toEqual(
			crossed.map((event) => event.id).sort((a, b) => a - b),
		);

		// The first in line, the work pre-booking, is offered the hardcover: it leaves both lines (2 and 1)…
		await restock(hardcover.id, 1);
		expect(await reported(hardcover.id)).toBe(2);
		expect(await reported(paperback.id)).toBe(1);
		// …and its pass brings it back to both, which reach their thresholds again (the hardcover's copy then
		// goes to the next in its line, the book's own pre-booking: 2 again).
		expect((await api("POST", `/prebooks/${any.body.id}/pass`, { token: anyEdition.token })).status).toBe(
			200,
		);
		expect(await reported(hardcover.id)).toBe(2);
		expect(await reported(paperback.id)).toBe(2);
		expect(await crossingsOf(hardcover.id)).toHaveLength(2);
		expect(await crossingsOf(paperback.id)).toHaveLength(2);
		// A catalog change: the paperback becomes an ebook, which none of them accepts: its line is empty.
		const regrouped = await api("PATCH", `/books/${paperback.id}`, {
			token: admin.token,
			body: { format: "ebook" },
		});
		expect(regrouped.status).toBe(200);
		expect(await reported(paperback.id)).toBeUndefined();
		await expectInvariants();
	});

	it("20 parallel pre-bookings across the threshold: exactly one event, and the counter is the line", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0, demand_alert_threshold: 10 });
		const line = await readers(20);
		const results = await Promise.all(
			line.map((reader) => api("POST", "/prebooks", { token: reader.token, body: { book_id: book.id } })),
		);
		expect(results.map((res) => res.status)).toEqual(Array(20).fill(201));
		const events = await crossingsOf(book.id);
		expect(events.map((event) => event.data)).toEqual([
			{ book_id: book.id, waiting_count: 10, threshold: 10 },
		]);
		const counter = await env.DB.prepare(
			`SELECT d.waiting_count, (SELECT count(*) FROM pre_bookings WHERE book_id = d.book_id AND status = 'waiting') AS line
			 FROM book_demand AS d WHERE d.book_id = ?`,
		)
			.bind(book.id)
			.first();
		expect(counter).toEqual({ waiting_count: 20, line: 20 });
		await expectInvariants();
	});
});
