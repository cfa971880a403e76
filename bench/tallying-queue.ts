/**
 * A `prebook-notifications` producer for the benchmarks' Workers, in place of the outside world: it counts
 * the user ids each notice or offer round puts on the queue (a bit per user, so a million are counted in
 * 128 KB and a repeat is seen) instead of handing them to the email consumer, which would email every
 * reader. `tallies()` answers them for `GET /__bench/published`.
 */
interface Tally {
	ids: number;
	repeats: number;
	messages: number;
	seen: Uint8Array;
	firstAt: number;
	lastAt: number;
}

const tallies = new Map<string, Tally>();

function count(body: { type: string; restock_id?: number; offer_round_id?: number; user_ids: number[] }) {
	const key = `${body.type}:${body.restock_id ?? body.offer_round_id}`;
	let tally = tallies.get(key);
	if (!tally) {
		tally = {
			ids: 0,
			repeats: 0,
			messages: 0,
			seen: new Uint8Array(1 << 18),
			firstAt: Date.now(),
			lastAt: 0,
		};
		tallies.set(key, tally);
	}
	tally.messages += 1;
	tally.lastAt = Date.now();
	for (const id of body.user_ids) {
		const byte = id >> 3;
		if (byte >= tally.seen.length) {
			const grown = new Uint8Array(Math.max(byte + 1, tally.seen.length * 2));
			grown.set(tally.seen);
			tally.seen = grown;
		}
		const bit = 1 << (id & 7);
		if ((tally.seen[byte] as number) & bit) tally.repeats += 1;
		else {
			tally.seen[byte] = (tally.seen[byte] as number) | bit;
			tally.ids += 1;
		}
	}
}

const metadata = { metrics: { backlogCount: 0, backlogBytes: 0 } };
export const tallyingQueue = {
	async send(body: unknown) {
		count(body as Parameters<typeof count>[0]);
		return { metadata };
	},
	async sendBatch(messages: Iterable<MessageSendRequest>) {
		for (const message of messages) count(message.body as Parameters<typeof count>[0]);
		return { metadata };
	},
	metrics: async () => metadata.metrics,
} as unknown as Queue;

/** The tallies by `<type>:<restock or round id>`, for `GET /__bench/published`. */
export const talliesResponse = () =>
	Response.json(
		Object.fromEntries(
			[...tallies].map(([key, { seen: _, ...tally }]) => [
				key,
				{ ...tally, ms: tally.lastAt - tally.firstAt },
			]),
		),
	);
