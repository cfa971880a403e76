/**
 * Building blocks for routes: the router factory (one validation hook for every route), the documented
 * error envelope with each route's error codes, response headers, request bodies and path ids.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env.ts";
import { type ErrorCode, type errorStatus, fieldErrors, validationError } from "./errors.ts";
import { malformedQueryParams } from "./text.ts";

export function createRouter() {
	return new OpenAPIHono<AppEnv>({
		defaultHook: (result, c) => {
			// A query is text like a JSON body's strings: a parameter the route reads whose bytes are not UTF-8
			// is refused, naming it (Hono hands such a value on as its raw `%…` text, which the schema would
			// pass). The route reads the parameters its schema parsed.
			if (result.target === "query" && result.success) {
				const malformed = malformedQueryParams(c.req.url, Object.keys(result.data as object));
				if (malformed.length > 0) {
					throw fieldErrors(
						malformed.map((field) => ({
							field,
							detail: `${field} must be valid Unicode text (percent-encoded UTF-8)`,
						})),
					);
				}
			}
			if (!result.success) throw validationError(result.error);
		},
	});
}

const ErrorSchema = z
	.object({
		code: z.string().openapi({ example: "PREBOOK_DUPLICATE" }),
		detail: z.string().openapi({ example: "You already have an active pre-booking for this book" }),
		field: z.string().nullable().openapi({ example: "book_id" }),
		errors: z
			.array(z.object({ field: z.string().nullable(), detail: z.string() }))
			.optional()
			.openapi({ description: "Every validation problem (422 VALIDATION_ERROR only)" }),
		request_id: z
			.string()
			.nullable()
			.openapi({ description: "The response's `X-Request-Id`, to quote when reporting a problem" }),
	})
	.openapi("Error", {
		description: "Every error's body. Each response narrows `code` to the codes that route can answer.",
	});

/**
 * Where a code is answered with another status than `errorStatus` gives it: an emailed link's bad token is
 * a 400 (`new AppError("AUTH_INVALID_TOKEN", …, { status: 400 })`), not a 401 that would make clients
 * discard their session.
 */
interface StatusExceptions {
	400: "AUTH_INVALID_TOKEN";
}

/** The statuses the API documents errors with. */
type ErrorHttpStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

/** The codes `errorStatus` allows for a status (plus the documented exceptions): `CodesFor<404>` = the *_NOT_FOUND. */
export type CodesFor<S extends ErrorHttpStatus> =
	| { [C in ErrorCode]: (typeof errorStatus)[C] extends S ? C : never }[ErrorCode]
	| (S extends keyof StatusExceptions ? StatusExceptions[S] : never);

type Codes<S extends ErrorHttpStatus> = readonly [CodesFor<S>, ...CodesFor<S>[]];

/** One documented error status: its codes, and optionally what they mean for this route. */
type ErrorEntry<S extends ErrorHttpStatus> = Codes<S> | { codes: Codes<S>; description: string };

export type ErrorSpec = { [S in ErrorHttpStatus]?: ErrorEntry<S> };

const genericDescriptions: Partial<Record<ErrorHttpStatus, string>> = {
	400: "The body is not valid JSON",
	401: "Missing, invalid or expired bearer token",
	403: "The account is deactivated",
	413: "The body is over 64 KiB",
	415: "The body is not application/json",
	422: "Every problem in `errors`, the first one in `field`",
	429: "Too many requests: retry after the `Retry-After` header's seconds",
	500: "Unexpected error",
	503: "A dependency did not answer",
};

/** Headers on every response (components in src/docs.ts). */
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
export const standardHeaders = {
	"X-Request-Id": headerRef("X-Request-Id"),
	"Server-Timing": headerRef("Server-Timing"),
};
/** The public catalog reads: cacheable, revalidated with `If-None-Match`. */
export const cacheHeaders = {
	...standardHeaders,
	ETag: headerRef("ETag"),
	"Cache-Control": headerRef("Cache-Control"),
	Age: headerRef("Age"),
};
const rateLimitHeaders = { ...standardHeaders, "Retry-After": headerRef("Retry-After") };
/** Checkout's 201: `Idempotent-Replayed: true` when an earlier request with the same key made the order. */
export const replayHeaders = { ...standardHeaders, "Idempotent-Replayed": headerRef("Idempotent-Replayed") };

/** The error body of one response: `Error` with `code` narrowed to the route's codes for that status. */
function errorBodySchema<C extends string>(codes: readonly [C, ...C[]]) {
	return ErrorSchema.extend({ code: z.enum(codes).openapi({ example: codes[0] }) });
}

type ErrorResponse<C extends string> = {
	description: string;
	headers: typeof standardHeaders;
	content: { "application/json": { schema: ReturnType<typeof errorBodySchema<C>> } };
};

type EntryCodes<E> = E extends { codes: readonly (infer C extends string)[] }
	? C
	: E extends readonly (infer C extends string)[]
		? C
		: never;

export type ErrorResponses<T extends ErrorSpec> = {
	[S in keyof T & ErrorHttpStatus]: ErrorResponse<EntryCodes<T[S]>>;
} & { 500: ErrorResponse<"INTERNAL_ERROR"> };

/**
 * Documented error responses, each with exactly the codes the route can answer with for that status —
 * checked against `errorStatus` (`errorResponses({ 404: ["PREBOOK_DUPLICATE"] })` does not compile).
 * Every route also gets 500 INTERNAL_ERROR. Typed per status, so `hc<AppType>` callers can narrow on
 * `res.status === 409` and read `code` as a union of the route's 409 codes.
 */
export function errorResponses<const T extends ErrorSpec>(spec: T): ErrorResponses<T> {
	const all: ErrorSpec = { ...spec, 500: ["INTERNAL_ERROR"] };
	return Object.fromEntries(
		Object.entries(all).map(([key, entry]) => {
			const status = Number(key) as ErrorHttpStatus;
			const codes = (Array.isArray(entry) ? entry : (entry as { codes: Codes<ErrorHttpStatus> }).codes) as [
				string,
				...string[],
			];
			const meaning = Array.isArray(entry)
				? genericDescriptions[status]
				: (entry as { description: string }).description;
			return [
				key,
				{
					description: meaning ? `${codes.join(" / ")}: ${meaning}` : codes.join(" / "),
					headers: status === 429 ? rateLimitHeaders : standardHeaders,
					content: { "application/json": { schema: errorBodySchema(codes) } },
				},
			];
		}),
	) as ErrorResponses<T>;
}

/** Errors every route with a JSON body can produce before its handler runs. */
export const bodyErrors = {
	400: ["MALFORMED_BODY"],
	413: ["PAYLOAD_TOO_LARGE"],
	415: ["UNSUPPORTED_MEDIA_TYPE"],
	422: ["VALIDATION_ERROR"],
} as const satisfies ErrorSpec;
/** Errors of a route whose path or query is validated. */
export const paramErrors = { 422: ["VALIDATION_ERROR"] } as const satisfies ErrorSpec;
/** Errors of a route that needs a signed-in, active user. */
export const userErrors = {
	401: ["AUTH_REQUIRED", "AUTH_INVALID_TOKEN"],
	403: ["AUTH_ACCOUNT_DEACTIVATED"],
} as const satisfies ErrorSpec;
/** Errors of an admin-only route. */
export const adminErrors = {
	401: ["AUTH_REQUIRED", "AUTH_INVALID_TOKEN"],
	403: { codes: ["AUTH_ACCOUNT_DEACTIVATED", "AUTH_FORBIDDEN"], description: "Not an active admin" },
} as const satisfies ErrorSpec;

/** A public route: no bearer token, and the document says so (`security: []`). */
export const publicRoute = { security: [] };

export const bearerAuth = [{ bearerAuth: [] }];

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
	required: true,
	content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType, H extends object = typeof standardHeaders>(
	schema: T,
	description: string,
	headers: H = standardHeaders as H,
) => ({
	description,
	headers,
	content: { "application/json": { schema } },
});

/** A response without a body (204). */
export const noContent = (description: string) => ({ description, headers: standardHeaders });

/** An id in the path or query: a positive integer in plain digits ("1e3", "-1", "1 OR 1=1" are 422). */
export const idParam = (name: string, location: "path" | "query" = "path") =>
	z
		.string()
		.regex(/^[1-9]\d{0,14}$/, `${name} must be a positive integer`)
		.transform(Number)
		.openapi({ param: { name, in: location }, type: "integer", example: 1 });

/** A positive integer id inside a JSON body. */
export const idField = (name: string) =>
	z
		.number({ message: `${name} must be a positive integer` })
		.int(`${name} must be a positive integer`)
		.min(1, `${name} must be a positive integer`)
		.max(Number.MAX_SAFE_INTEGER, `${name} must be a positive integer`)
		.openapi({ example: 1 });

/** Strict boolean query flag: only "true" or "false" ("in_stock must be true or false" otherwise). */
export const booleanQuery = z.enum(["true", "false"]).transform((value) => value === "true");

export const timestamp = z.string().openapi({ example: "2026-11-21T10:15:30.123Z", format: "date-time" });
