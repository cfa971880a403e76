/**
 * Structured logs (one JSON object per line, what Workers Logs indexes). Callers pass ids and counts,
 * never request bodies, SQL or driver messages.
 */
export function logEvent(
	level: "info" | "warn" | "error",
	event: string,
	fields: Record<string, unknown> = {},
): void {
	const line = JSON.stringify({ level, event, ...fields });
	if (level === "error") console.error(line);
	else if (level === "warn") console.warn(line);
	else console.log(line);
}
