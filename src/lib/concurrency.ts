/**
 * A Worker invocation holds at most 6 outgoing connections at once (queue sends, emails, webhooks); more
 * parallel calls would only wait for a free one. Fan-outs run in waves of this size.
 */
export const MAX_PARALLEL_SUBREQUESTS = 6;

/** Calls `work` for every item, at most `MAX_PARALLEL_SUBREQUESTS` at a time; rejects on the first failure. */
export async function inWaves<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
	for (let i = 0; i < items.length; i += MAX_PARALLEL_SUBREQUESTS) {
		await Promise.all(items.slice(i, i + MAX_PARALLEL_SUBREQUESTS).map(work));
	}
}
