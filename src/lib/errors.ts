/**
 * The one error path. Handlers and services `throw new AppError(code, detail, field)`; the central
 * `onError` turns it (or anything else) into the contract's envelope `{code, detail, field}`.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { logEvent } from "./log.ts";
// zod's messages for issues no schema worded: "author must be at most 255 characters" (set once, globally).
import "./validation-messages.ts";

/** Every error code the API can answer with, and its HTTP status. */
export const errorStatus = {
	VALIDATION_ERROR: 422,
	MALFORMED_BODY: 400,
	PAYLOAD_TOO_LARGE: 413,
	UNSUPPORTED_MEDIA_TYPE: 415,
	NOT_FOUND: 404,
	AUTH_REQUIRED: 401,
	AUTH_INVALID_TOKEN: 401,
	AUTH_INVALID_CREDENTIALS: 401,
	AUTH_ACCOUNT_DEACTIVATED: 403,
	AUTH_FORBIDDEN: 403,
	RATE_LIMITED: 429,
	USER_NOT_FOUND: 404,
	USER_ERASED: 409,
	ADMIN_SELF_MODIFICATION: 409,
	ADMIN_LAST: 409,
	GENRE_NOT_FOUND: 404,
	GENRE_NAME_CONFLICT: 409,
	BOOK_NOT_FOUND: 404,
	BOOK_ISBN_CONFLICT: 409,
	WORK_NOT_FOUND: 404,
	WORK_HAS_PREBOOKINGS: 409,
	STOCK_BELOW_HELD: 409,
	PREBOOK_NOT_FOUND: 404,
	PREBOOK_BOOK_IN_STOCK: 409,
	PREBOOK_DUPLICATE: 409,
	PREBOOK_LIMIT_REACHED: 409,
	PREBOOK_ALREADY_CANCELLED: 409,
	PREBOOK_CLOSED: 409,
	PREBOOK_NOT_WAITING: 409,
	PREBOOK_NOT_PAUSED: 409,
	PREBOOK_NOT_OFFERED: 409,
	PREBOOK_PASS_LIMIT: 409,
	DRAW_NOT_FOUND: 404,
	DRAW_OPEN: 409,
	INBOUND_NOT_FOUND: 404,
	RESTOCK_NOT_FOUND: 404,
	WISHLIST_ITEM_DUPLICATE: 409,
	WISHLIST_ITEM_NOT_FOUND: 404,
	CART_ITEM_NOT_FOUND: 404,
	CART_EMPTY: 409,
	CART_CHANGED: 409,
	INSUFFICIENT_STOCK: 409,
	IDEMPOTENCY_KEY_REUSED: 422,
	ORDER_NOT_FOUND: 404,
	WEBHOOK_NOT_FOUND: 404,
	WEBHOOK_DELIVERY_NOT_FOUND: 404,
	WEBHOOK_DELIVERY_SUCCEEDED: 409,
	INTERNAL_ERROR: 500,
	SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;
export type ErrorStatus = (typeof errorStatus)[ErrorCode] | 400;

export interface FieldError {
	field: string | null;
	detail: string;
}

export class AppError extends Error {
	readonly status: ErrorStatus;

	constructor(
		readonly code: ErrorCode,
		readonly detail: string,
		readonly field: string | null = null,
		readonly extra: {
			errors?: FieldError[];
			headers?: Record<string, string>;
			/** Where the contract answers one code with another status (AUTH_INVALID_TOKEN for an emailed link: 400). */
			status?: ErrorStatus | 400;
		} = {},
	) {
		super(`${code}: ${detail}`);
		this.name = "AppError";
		this.status = extra.status ?? errorStatus[code];
	}
}

/**
 * Maps zod issues to the contract's VALIDATION_ERROR: every problem listed once (two checks refusing one
 * value with one message, e.g. an id that is neither safe nor in range, are one problem), `field` = the
 * first one. A value of the wrong type is that one problem: zod still runs its field's checks on it (an
 * array's `max` measured the length of a string sent instead: "at most 6 characters"), which say nothing
 * true about it.
 */
export function validationError(error: ZodError): AppError {
	const pathOf = (issue: ZodError["issues"][number]) => issue.path.join(".");
	const wrongType = new Set(error.issues.filter((issue) => issue.code === "invalid_type").map(pathOf));
	const seen = new Set<string>();
	const errors: FieldError[] = [];
	for (const issue of error.issues) {
		if (issue.code !== "invalid_type" && wrongType.has(pathOf(issue))) continue;
		const problem = { field: issue.path.length > 0 ? issue.path.join(".") : null, detail: issue.message };
		const key = JSON.stringify([problem.field, problem.detail]);
		if (seen.has(key)) continue;
		seen.add(key);
		errors.push(problem);
	}
	return fieldErrors(errors);
}

/** A VALIDATION_ERROR listing `errors`; its `detail` and `field` are the first one's. */
export function fieldErrors(errors: FieldError[]): AppError {
	const first = errors[0] ?? { field: null, detail: "Invalid request" };
	return new AppError("VALIDATION_ERROR", first.detail, first.field, { errors });
}

/** A VALIDATION_ERROR about one field found after schema validation (a cursor, a merged quantity). */
export function fieldError(field: string, detail: string): AppError {
	return fieldErrors([{ field, detail }]);
}

/**
 * 404 BOOK_NOT_FOUND: no book has the id the request gave in `field` (a path's `id`, a body's or query's
 * `book_id`). Every feature that reads a book by id answers this one error.
 */
export const bookNotFound = (field: "id" | "book_id" = "id") =>
	new AppError("BOOK_NOT_FOUND", "No book with this id", field);

/**
 * 429 RATE_LIMITED whose `Retry-After` says when a slot frees up: `freeAt` (ms since the epoch), at least
 * one second away.
 */
export function rateLimited(detail: string, freeAt: number, now: number): AppError {
	const seconds = Math.max(1, Math.ceil((freeAt - now) / 1000));
	return new AppError("RATE_LIMITED", detail, null, { headers: { "Retry-After": String(seconds) } });
}

/** Framework exceptions (raised by Hono's validators and middleware) mapped onto contract codes. */
function fromHttpException(err: HTTPException): AppError {
	switch (err.status) {
		case 400:
			return new AppError("MALFORMED_BODY", "Request body is not valid JSON");
		case 413:
			return new AppError("PAYLOAD_TOO_LARGE", "Request body is larger than 64 KiB");
		case 415:
			return new AppError("UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json");
		case 401:
			return new AppError("AUTH_REQUIRED", "Authentication required");
		case 404:
			return new AppError("NOT_FOUND", "No such route");
		default:
			return new AppError("INTERNAL_ERROR", "Unexpected error");
	}
}

/** The contract's envelope; `request_id` repeats the `X-Request-Id` header for support tickets. */
export function errorBody(err: AppError, requestId: string | undefined) {
	return {
		code: err.code,
		detail: err.detail,
		field: err.field,
		...(err.extra.errors ? { errors: err.extra.errors } : {}),
		request_id: requestId ?? null,
	};
}

/**
 * An error and its causes, outermost first (at most five): drizzle wraps D1's error in `DrizzleQueryError`
 * (whose message carries SQL and parameters), and what the guarded binding throws, so what matters may be
 * a cause or two down.
 */
function* errorChain(err: unknown): Generator<Error> {
	let current: unknown = err;
	for (let depth = 0; current instanceof Error && depth < 5; depth++) {
		yield current;
		current = current.cause;
	}
}

/** The first match of `pattern` in the messages along an error's `cause` chain (a trigger's `RAISE`, a constraint). */
export function matchErrorChain(err: unknown, pattern: RegExp): RegExpExecArray | null {
	for (const error of errorChain(err)) {
		const match = pattern.exec(error.message);
		if (match) return match;
	}
	return null;
}

/** An AppError anywhere along the `cause` chain (drizzle wraps what the guarded binding throws). */
function findAppError(err: unknown): AppError | null {
	for (const error of errorChain(err)) if (error instanceof AppError) return error;
	return null;
}

/** The app's error handler: any app whose variables include hono/request-id's `requestId`. */
export function onError<E extends { Variables: { requestId: string } }>(err: Error, c: Context<E>) {
	let appError = findAppError(err);
	if (appError === null && err instanceof HTTPException) appError = fromHttpException(err);
	if (appError === null) {
		// Log the error's kind only: drizzle's messages carry the SQL and its bound parameters.
		logEvent("error", "unhandled_error", {
			method: c.req.method,
			route: c.req.routePath,
			error: describeError(err),
		});
		appError = new AppError("INTERNAL_ERROR", "An unexpected error occurred");
	}
	for (const [name, value] of Object.entries(appError.extra.headers ?? {})) c.header(name, value);
	return c.json(errorBody(appError, c.get("requestId")), appError.status);
}

/**
 * A loggable description of an unexpected error with nothing from the request in it: the names along the
 * `cause` chain and an SQLite result code when there is one (e.g. `DrizzleQueryError < Error [SQLITE_BUSY]`).
 */
export function describeError(err: unknown): string {
	const parts = [...errorChain(err)].map((error) => {
		const sqliteCode = /SQLITE_[A-Z_]+/.exec(error.message)?.[0];
		return sqliteCode ? `${error.name} [${sqliteCode}]` : error.name;
	});
	return parts.join(" < ") || typeof err;
}

export type ConstraintKind = "unique" | "foreign_key" | "check" | "not_null";

/**
 * Classifies a SQLite constraint failure. drizzle wraps D1's error in `DrizzleQueryError` (whose message
 * carries SQL and parameters), so walk the `cause` chain and read D1's own message, e.g.
 * `D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT`.
 */
export function constraintViolation(err: unknown): { kind: ConstraintKind; target: string } | null {
	const match = matchErrorChain(
		err,
		/(UNIQUE|FOREIGN KEY|CHECK|NOT NULL) constraint failed(?::\s*([\w.,\s]+?))?(?::\s*SQLITE|$)/,
	);
	if (!match) return null;
	const kinds = {
		UNIQUE: "unique",
		"FOREIGN KEY": "foreign_key",
		CHECK: "check",
		"NOT NULL": "not_null",
	} as const;
	return { kind: kinds[match[1] as keyof typeof kinds], target: (match[2] ?? "").trim() };
}
