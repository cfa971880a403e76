/**
 * "When will I get it?" (API.md, Pre-bookings rule 12), worked out from what one read of the pre-booking
 * carries: how many members are ahead, the book's pending supply, its restocks of the last 365 days and
 * the share of its offers that were bought.
 *
 * - `inbound`: the reader needs `ceil((ahead.active + 1) × share)` copies to come (readers ahead who do not
 *   buy pass their copy on); p50 is when the pending supply covers that, p90 when it covers everyone ahead
 *   as if all bought (or, when it does not reach that far, its last delivery): p50 ≤ p90.
 * - `history` (at least two restocks in 365 days): restocks come every `interval` bringing `per restock`
 *   copies on average; p50 is the first restock after now that covers the copies needed, p90 one interval
 *   later.
 * - `none`: neither applies. Lottery books have no estimate (a draw has no order).
 */
import type { Allocation, PrebookStatus } from "../../db/schema.ts";

export interface EstimateInput {
	now: Date;
	status: PrebookStatus;
	allocation: Allocation;
	ahead: { active: number; passed_over: number };
	/** Pending supply: [quantity, expected_at], by expected date. */
	inbound: [number, string][];
	history: { n: number; first: string | null; last: string | null; copies: number };
	offers: { offers: number; bought: number };
}

export interface Estimate {
	expected_by: { p50: string; p90: string } | null;
	basis: "inbound" | "history" | "none";
	ahead: { active: number; passed_over: number };
}

/** Offers a book needs before its own purchase share is trusted; below, every offer counts as bought. */
const OFFERS_FOR_SHARE = 10;

const DAY_MS = 24 * 60 * 60 * 1000;

/** When the pending supply, in order, has brought `copies`; null when it never does. */
function coveredAt(inbound: [number, string][], copies: number): string | null {
	let total = 0;
	for (const [quantity, expectedAt] of inbound) {
		total += quantity;
		if (total >= copies) return expectedAt;
	}
	return null;
}

export function estimateOf(input: EstimateInput): Estimate | null {
	if (input.status !== "waiting" || input.allocation === "lottery") return null;
	const { ahead, inbound, history, offers, now } = input;
	const share = offers.offers >= OFFERS_FOR_SHARE ? offers.bought / offers.offers : 1;
	const needed = Math.max(1, Math.ceil((ahead.active + 1) * share));
	const p50 = coveredAt(inbound, needed);
	if (p50 !== null) {
		const all = coveredAt(inbound, ahead.active + 1) ?? inbound.at(-1)?.[1] ?? p50;
		// ISO 8601 UTC timestamps of one format sort by time.
		const p90 = [p50, all].sort().at(-1) ?? p50;
		return { expected_by: { p50, p90 }, basis: "inbound", ahead };
	}
	if (history.n >= 2 && history.first && history.last && history.copies > 0) {
		const interval = Math.max(
			DAY_MS,
			(Date.parse(history.last) - Date.parse(history.first)) / (history.n - 1),
		);
		const perRestock = history.copies / history.n;
		const restocks = Math.ceil(needed / perRestock);
		const next = Math.max(now.getTime(), Date.parse(history.last) + interval);
		const at = next + (restocks - 1) * interval;
		return {
			expected_by: { p50: new Date(at).toISOString(), p90: new Date(at + interval).toISOString() },
			basis: "history",
			ahead,
		};
	}
	return { expected_by: null, basis: "none", ahead };
}
