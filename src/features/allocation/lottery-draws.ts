/**
 * Lottery draws (API.md, Pre-bookings rule 8), the part that needs the Worker: a fresh seed and its public
 * commitment when a draw opens, and the scores when one closes — SQLite has neither a CSPRNG nor HMAC.
 *
 * The engine (policies.ts, `lottery`) closes a book's open draw inside the batch that made copies
 * available: the copies are held for the draw and its entries fixed (`closing`). `completeDraw` then, after
 * that commit (a `prebook-publication` message: publication-consumer.ts), scores every entry with HMAC-SHA256(seed, "<draw_id>:<prebook_id>") and, in one batch, offers
 * the lowest scores, closes the draw (its seed is published from then on), opens the next draw with a new
 * commitment and runs the engine for the book. A Worker that dies in between leaves the draw `closing`; the
 * cron completes it within a minute (the relay pattern), with the same scores, since they depend on the seed
 * alone. Anyone can check a closed draw from the public routes (docs/lottery.md).
 */
import { sql } from "drizzle-orm";
import { z } from "zod";
import { batch, rawQuery, statementList } from "../../lib/batch.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import type { Db } from "../../lib/db.ts";
import { drawClosedEvent, eventIdsOf, prebookOfferedEvents } from "../webhooks/webhook-events.ts";
import { allocate, allocateBook, booksIn } from "./engine.ts";
import { aliases, servable } from "./line.ts";
import { NOTHING, type Outcome, outcomeOf } from "./outcome.ts";
import { offerSelected, roundReaders, roundsOf, roundsOfThisBatch } from "./policies.ts";

const hex = (bytes: ArrayBuffer | Uint8Array) =>
	[...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
const bytesOf = (hexText: string) =>
	Uint8Array.from(hexText.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

/** A fresh 32-byte seed (64 hex characters) and its commitment, the hex SHA-256 of the seed's bytes. */
async function newSeed(): Promise<{ seed: string; commitment: string }> {
	const seed = crypto.getRandomValues(new Uint8Array(32));
	return { seed: hex(seed), commitment: hex(await crypto.subtle.digest("SHA-256", seed)) };
}

/** Each entry's score: the hex HMAC-SHA256 of "<draw_id>:<prebook_id>" keyed with the seed's 32 bytes. */
async function scoresOf(seed: string, drawId: number, prebookIds: number[]) {
	const key = await crypto.subtle.importKey("raw", bytesOf(seed), { name: "HMAC", hash: "SHA-256" }, false, [
		"sign",
	]);
	const encoder = new TextEncoder();
	return Promise.all(
		prebookIds.map(async (prebookId) => ({
			p: prebookId,
			s: hex(await crypto.subtle.sign("HMAC", key, encoder.encode(`${drawId}:${prebookId}`))),
		})),
	);
}

/**
 * Opens a draw, with its fresh seed, for each of these lottery books that has no open or closing one (one
 * open draw per book, the partial unique index deciding a race).
 */
const openDrawsFor = (seeds: { id: number; seed: string; commitment: string }[], now: string) =>
	rawQuery(sql`INSERT INTO draws (book_id, status, seed, seed_commitment, opened_at)
		SELECT b.id, 'open', s.value ->> 'seed', s.value ->> 'commitment', ${now}
		FROM json_each(${JSON.stringify(seeds)}) AS s JOIN books AS b ON b.id = s.value ->> 'id'
		WHERE b.allocation = 'lottery'
			AND NOT EXISTS (SELECT 1 FROM draws AS d WHERE d.book_id = b.id AND d.status IN ('open', 'closing'))
		ON CONFLICT DO NOTHING`);

/** After a commit (or by the cron): an open draw for each lottery book without one, and the engine for them. */
export async function openDraws(db: Db, bookIds: number[], notBefore?: Date): Promise<Outcome> {
	if (bookIds.length === 0) return NOTHING;
	const seeds = await Promise.all(bookIds.map(() => newSeed()));
	const { allocation } = await withUniqueNow(
		(now) =>
			batch(db, {
				opened: openDrawsFor(
					bookIds.map((id, i) => ({ id, ...(seeds[i] as { seed: string; commitment: string }) })),
					now,
				),
				allocation: allocate(
					booksIn(sql`SELECT value FROM json_each(${JSON.stringify(bookIds)})`),
					"draw",
					now,
				),
			}),
		notBefore,
	);
	return allocation;
}

/**
 * Entries scored per page: the Worker holds one page of ids and scores at a time (about 1.5 MB), so a draw
 * of any size completes in bounded memory; each page's scores are written in statements of
 * `SCORES_PER_STATEMENT` (a JSON array of about 80 bytes an entry), one batch per page.
 */
const SCORE_PAGE = 10_000;
const SCORES_PER_STATEMENT = 1_000;

/** Scores the draw's entries that have no score yet, a page at a time (two round trips a page). */
async function scoreEntries(db: Db, drawId: number, seed: string): Promise<void> {
	for (;;) {
		const unscored = await db.all<{ prebook_id: number }>(
			sql`SELECT prebook_id FROM draw_entries WHERE draw_id = ${drawId} AND score IS NULL LIMIT ${SCORE_PAGE}`,
		);
		if (unscored.length === 0) return;
		const scores = await scoresOf(
			seed,
			drawId,
			unscored.map((entry) => entry.prebook_id),
		);
		const writes = [];
		for (let at = 0; at < scores.length; at += SCORES_PER_STATEMENT) {
			writes.push(
				// An upsert driven by the scores (a seek per entry on uq_draw_entries_draw_prebook); an UPDATE … FROM
				// json_each was planned as a scan of the draw's entries per score: quadratic.
				rawQuery(sql`INSERT INTO draw_entries (draw_id, prebook_id, score)
					SELECT ${drawId}, j.value ->> 'p', j.value ->> 's'
					FROM json_each(${JSON.stringify(scores.slice(at, at + SCORES_PER_STATEMENT))}) AS j
					WHERE EXISTS (SELECT 1 FROM draw_entries AS e WHERE e.draw_id = ${drawId} AND e.prebook_id = j.value ->> 'p')
					ON CONFLICT (draw_id, prebook_id) DO UPDATE SET score = excluded.score`),
			);
		}
		await batch(db, { scores: statementList(writes) });
		if (unscored.length < SCORE_PAGE) return;
	}
}

/** Completes a closing draw: scores, winners offered, draw closed, the next one opened, the engine run. */
export async function completeDraw(db: Db, drawId: number, notBefore?: Date): Promise<Outcome> {
	const [draw] = await db.all<{ book_id: number; seed: string }>(
		sql`SELECT book_id, seed FROM draws WHERE id = ${drawId} AND status = 'closing'`,
	);
	if (!draw) return NOTHING;
	await scoreEntries(db, drawId, draw.seed);
	const next = await newSeed();
	return withUniqueNow((now) => offerWinners(db, drawId, draw.book_id, next, now), notBefore);
}

/** The draw's scored winners offered, the draw closed and the next opened, the engine run: one batch at `now`. */
async function offerWinners(
	db: Db,
	drawId: number,
	bookId: number,
	next: { seed: string; commitment: string },
	now: string,
): Promise<Outcome> {
	const row = aliases("p", "u", "b");
	// The draw's book is the line's: a work pre-booking that won gets it as its edition (offerSelected).
	const winners = sql`SELECT p.id, b.id AS line_book FROM draw_entries AS e JOIN pre_bookings AS p ON p.id = e.prebook_id
		JOIN users AS u ON u.id = p.user_id JOIN books AS b ON b.id = ${bookId}
		WHERE e.draw_id = ${drawId} AND p.status = 'waiting' AND ${servable(row, now)}
		ORDER BY e.score, p.id
		LIMIT coalesce((SELECT copies FROM draws WHERE id = ${drawId} AND status = 'closing'), 0)`;
	const { round, readers, events, closedEvent, allocation } = await batch(db, {
		round: rawQuery<{ id: number; book_id: number; hold_expires_at: string }>(sql`
			INSERT INTO offer_rounds (book_id, reason, offered_at, hold_expires_at, created_at)
			SELECT b.id, 'draw', ${now}, strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '+' || b.hold_hours || ' hours'), ${now}
			FROM books AS b WHERE b.id = ${bookId} AND EXISTS (${winners})
			RETURNING id, book_id, hold_expires_at`),
		offered: offerSelected(winners, now),
		readers: roundReaders(roundsOfThisBatch(sql`SELECT ${bookId}`, now)),
		won: rawQuery(sql`UPDATE draw_entries SET won = 1 WHERE draw_id = ${drawId}
			AND prebook_id IN (SELECT id FROM pre_bookings WHERE book_id = ${bookId}
				AND status = 'offered' AND offered_at = ${now})`),
		events: prebookOfferedEvents(sql`SELECT ${bookId}`, now),
		// Recorded while the draw is still closing, so only the run that closes it records it.
		closedEvent: drawClosedEvent(drawId, now),
		closed: rawQuery(sql`UPDATE draws SET status = 'closed', closed_at = ${now}
			WHERE id = ${drawId} AND status = 'closing'`),
		next: openDrawsFor([{ id: bookId, ...next }], now),
		// The draw's copies are no longer held for it: its winners hold theirs, the rest go on by the rules.
		allocation: allocateBook(bookId, "draw", now),
	});
	// A draw another run completed meanwhile matches none of the statements above but the engine's.
	return outcomeOf(
		{ offers: roundsOf(round, readers), webhookEventIds: eventIdsOf(events, closedEvent) },
		allocation,
		{ catalogBookIds: [bookId] },
	);
}

/** The `prebook-publication` message that completes a closed draw (publication-consumer.ts runs it). */
export const drawStep = z.object({ kind: z.literal("draw"), id: z.number().int().positive() });

/**
 * Hands a draw the batch closed to `prebook-publication`, to be scored and offered by its consumer: the
 * change that closed it answers at once (a draw of 100,000 entries takes seconds to score).
 */
export const completeDrawLater = (publicationQueue: Queue, drawId: number) =>
	publicationQueue.send({ kind: "draw", id: drawId } satisfies z.infer<typeof drawStep>, {
		contentType: "json",
	});
