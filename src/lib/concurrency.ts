/**
 * A Worker invocation holds at most 6 outgoing connections at once (queue sends, emails, webhooks); more
 * parallel calls would only wait for a free one. Fan-outs run in waves of this size.
 */
const MAX_PARALLEL_SUBREQUESTS = 6;

/** Calls `work` for every item, at most `MAX_PARALLEL_SUBREQUESTS` at a time; rejects on the first failure. */
export async function inWaves<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
	for (let i = 0; i < items.length; i += MAX_PARALLEL_SUBREQUESTS) {
		await Promise.all(items.slice(i, i + MAX_PARALLEL_SUBREQUESTS).map(work));
	}
}

/**
 * Calls `work` for every item with at most `MAX_PARALLEL_SUBREQUESTS` running, starting the next as soon as
 * one finishes (a slow call holds one slot, not a whole wave). `work` must handle its own failures.
 */
export async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	const runner = async () => {
		while (next < items.length) {
			const item = items[next++] as T;
			await work(item);
		}
	};
	await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_SUBREQUESTS, items.length) }, runner));
}
