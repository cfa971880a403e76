/**
 * Building blocks for routes: the router factory (one validation hook for every route), the documented
 * error envelope, request bodies and path ids.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../types.ts";
import { validationError } from "./errors.ts";

export function createRouter() {
	return new OpenAPIHono<AppEnv>({
		defaultHook: (result) => {
			if (!result.success) throw validationError(result.error);
		},
	});
}

export const ErrorSchema = z
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
	.openapi("Error");

const errorDescriptions = {
	400: "MALFORMED_BODY: the body is not valid JSON",
	401: "AUTH_REQUIRED / AUTH_INVALID_TOKEN: missing, invalid or expired bearer token",
	403: "AUTH_ACCOUNT_DEACTIVATED / AUTH_FORBIDDEN",
	404: "Not found",
	409: "Conflict",
	413: "PAYLOAD_TOO_LARGE: body over 64 KiB",
	415: "UNSUPPORTED_MEDIA_TYPE: body is not application/json",
	422: "VALIDATION_ERROR: every problem in `errors`, the first one in `field`",
	429: "RATE_LIMITED: retry after the `Retry-After` header's seconds",
	500: "INTERNAL_ERROR",
	503: "SERVICE_UNAVAILABLE",
} as const;
type ErrorHttpStatus = keyof typeof errorDescriptions;

/** Documented error responses; pass a description to name the route's own codes. */
export function errorResponses(statuses: Partial<Record<ErrorHttpStatus, string | true>>) {
	const all: Partial<Record<ErrorHttpStatus, string | true>> = { ...statuses, 500: true };
	return Object.fromEntries(
		Object.entries(all).map(([status, description]) => [
			status,
			{
				description:
					description === true ? errorDescriptions[Number(status) as ErrorHttpStatus] : description,
				content: { "application/json": { schema: ErrorSchema } },
			},
		]),
	);
}

/** Errors every route with a JSON body can produce before its handler runs. */
export const bodyErrors = { 400: true, 413: true, 415: true, 422: true } as const;
/** Errors of a route that needs a signed-in, active user. */
export const userErrors = {
	401: true,
	403: "AUTH_ACCOUNT_DEACTIVATED: the account is deactivated",
} as const;
/** Errors of an admin-only route. */
export const adminErrors = {
	401: true,
	403: "AUTH_ACCOUNT_DEACTIVATED / AUTH_FORBIDDEN: not an active admin",
} as const;

export const bearerAuth = [{ bearerAuth: [] }];

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
	required: true,
	content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
	description,
	content: { "application/json": { schema } },
});

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

/** Strict boolean query flag: only "true" or "false". */
export const booleanQuery = z
	.enum(["true", "false"], { message: "must be true or false" })
	.transform((value) => value === "true");

export const timestamp = z.string().openapi({ example: "2026-11-21T10:15:30.123Z", format: "date-time" });
