/** Current time as the API's timestamp format (RFC 3339 UTC with milliseconds and `Z`). */
export const nowIso = (): string => new Date().toISOString();

export const isoAfter = (from: Date, milliseconds: number): string =>
	new Date(from.getTime() + milliseconds).toISOString();
