/**
 * A waiting pre-booking's place in line and its estimate (API.md, Pre-bookings rule 12), from what one read
 * of it carries as SQLite JSON: the measures of each of its lines (`measureLines`, allocation/line.ts) and
 * each edition's inputs to the estimate (policy, pending supply, restocks, offers). The JSON is checked here;
 * the estimate itself is worked out in estimate.ts.
 */
import { z } from "zod";
import { ALLOCATIONS, type PrebookStatus } from "../../db/schema.ts";
import { bestPlace } from "../allocation/line.ts";
import { type Estimate, estimateOf } from "./estimate.ts";

const Lines = z.array(
	z.object({
		own: z.object({ n: z.number().int(), a: z.number().int(), edge: z.string().nullable() }),
		work: z.object({ n: z.number().int(), a: z.number().int() }),
		behind: z.object({ n: z.number().int(), edge: z.string().nullable() }).nullable(),
		span: z.tuple([z.string(), z.string()]).nullable(),
		waiting: z.number().int(),
		self: z.number().int(),
		book_id: z.number().int(),
		served: z.number().int(),
	}),
);
/** What `measureLines` measured (JSON), checked. */
export const parseLineMeasures = (json: string) => Lines.parse(JSON.parse(json));
const History = z.object({
	n: z.number().int(),
	first: z.string().nullable(),
	last: z.string().nullable(),
	copies: z.number(),
});
const Offers = z.object({ offers: z.number().int(), bought: z.number().int() });
const Inbound = z.array(z.tuple([z.number().int(), z.string()]));
const Editions = z.array(
	z.object({
		book_id: z.number().int(),
		allocation: z.enum(ALLOCATIONS),
		inbound: Inbound,
		history: History,
		offers: Offers,
	}),
);

/** The estimate of a waiting work pre-booking no edition accepts yet. */
const NO_EDITION_YET: Estimate = { expected_by: null, basis: "none", ahead: { active: 0, passed_over: 0 } };

/** What a pre-booking's read measured of its lines (the columns of `PrebookView` that `placeInLine` reads). */
export interface MeasuredPrebook {
	status: PrebookStatus;
	/** What the read measured of each of its lines (`LineMeasure[]`), as SQLite's JSON; null when not waiting. */
	aheadJson: string | null;
	/** The cap the read counted up to (`AHEAD_CAP` but in tests). */
	aheadCap: number;
	/** Rule 12's inputs of each edition it waits for (`Editions`), as SQLite's JSON; null when not waiting. */
	editionsJson: string | null;
}

/**
 * `position` and `estimate` of a pre-booking, from what its view read (rule 12): both from the line of its
 * best place (`bestPlace`: for a work pre-booking, over the editions that serve it now), the estimate with
 * that edition's policy, supply and history.
 */
export function placeInLine(row: MeasuredPrebook): { position: number | null; estimate: Estimate | null } {
	if (row.status !== "waiting" || row.aheadJson === null) return { position: null, estimate: null };
	const place = bestPlace(parseLineMeasures(row.aheadJson), row.aheadCap);
	const editions = Editions.parse(JSON.parse(row.editionsJson ?? "[]"));
	// No line was measured: a lottery's line has no order (no estimate either: rule 12); a work pre-booking
	// for a format the work has no edition of yet is in no line — nobody ahead, nothing to expect yet, and
	// its place comes with the first edition it accepts.
	if (!place) return { position: null, estimate: editions.length === 0 ? NO_EDITION_YET : null };
	const edition = editions.find((candidate) => candidate.book_id === place.bookId);
	return {
		position: place.served ? place.ahead.active + 1 : null,
		estimate: edition
			? estimateOf({
					now: new Date(),
					status: row.status,
					allocation: edition.allocation,
					ahead: place.ahead,
					inbound: edition.inbound,
					history: edition.history,
					offers: edition.offers,
				})
			: null,
	};
}
