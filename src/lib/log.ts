/**
 * Structured logs (one JSON object per line, what Workers Logs indexes). Callers pass ids and counts,
 * never request bodies, SQL or driver messages.
 *
 * Every line carries the context of the work it belongs to — the `request_id` the response's `X-Request-Id`
 * and error bodies carry (app.ts), or the cron's schedule, or the queue `message_id` — through
 * AsyncLocalStorage (`nodejs_als` compatibility flag), so services log without being handed a logger.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export type LogContext = Record<string, string | number | undefined>;

const context = new AsyncLocalStorage<LogContext>();

/** Runs `work` with `fields` added to every log line written inside it (nested contexts merge). */
export function withLogContext<T>(fields: LogContext, work: () => T): T {
	return context.run({ ...context.getStore(), ...fields }, work);
}

export function logEvent(
	level: "info" | "warn" | "error",
	event: string,
	fields: Record<string, unknown> = {},
): void {
	const line = JSON.stringify({ level, event, ...context.getStore(), ...fields });
	if (level === "error") console.error(line);
	else if (level === "warn") console.warn(line);
	else console.log(line);
}
