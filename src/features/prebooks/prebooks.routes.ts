import { createRoute, z } from "@hono/zod-openapi";
import { PREBOOK_STATUSES } from "../../db/schema.ts";
import { adminOnly, signedIn } from "../../lib/auth.ts";
import {
	adminErrors,
	bodyErrors,
	type CodesFor,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	noContent,
	paramErrors,
	publicRoute,
	standardHeaders,
	userErrors,
} from "../../lib/openapi.ts";
import { formBodyOnly, htmlPage } from "../../lib/pages.ts";
import { limitParam, pageQuery, pageSchema } from "../../lib/pagination.ts";
import { PageQuery } from "../auth/auth.schemas.ts";
import {
	DemandSchema,
	GuestConfirmBody,
	GuestPrebookAccepted,
	GuestPrebookBody,
	LineEntrySchema,
	PauseBody,
	PrebookCreate,
	PrebookSchema,
} from "./prebooks.schemas.ts";

const prebookId = z.object({ id: idParam("id") });

export const create = createRoute({
	operationId: "createPrebook",
	method: "post",
	path: "/prebooks",
	tags: ["Pre-bookings"],
	summary: "Pre-book an out-of-stock book, or any edition of a work",
	description:
		"`{book_id}` pre-books one edition; `{work_id, formats?}` pre-books any edition of the work in an accepted format (default: every format its editions have) — the reader then waits in the line of each such edition and gets the first copy any of them offers (`book_id` is set to it). Only while the book (every accepted edition) has no available copy (`available_quantity` 0); one active (waiting or offered) pre-booking per book and per work, and a book pre-booking and a work pre-booking accepting that book are duplicates; at most 100 waiting per user. When copies come back the allocation engine serves the line under the book's policy: `notify_all` — the pre-booking becomes `notified`; `hold_queue` — the first servable readers in line are `offered` a held copy for `hold_hours`. Either way the reader is emailed once. A reader who cannot be told (address unverified, restock emails off) or is paused keeps their place but is passed over (`on_hold_reason`).",
	...signedIn,
	request: { body: jsonBody(PrebookCreate) },
	responses: {
		201: jsonResponse(PrebookSchema, "The new pre-booking (status `waiting`)"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			404: {
				codes: ["BOOK_NOT_FOUND", "WORK_NOT_FOUND"],
				description: "No such book or work (field `book_id` / `work_id`)",
			},
			409: {
				codes: ["PREBOOK_BOOK_IN_STOCK", "PREBOOK_DUPLICATE", "PREBOOK_LIMIT_REACHED"],
				description: "Checked in that order (field `book_id` / `work_id`)",
			},
		}),
	},
});

export const list = createRoute({
	operationId: "listPrebooks",
	method: "get",
	path: "/prebooks",
	tags: ["Pre-bookings"],
	summary: "The caller's pre-bookings, newest first",
	...signedIn,
	request: {
		query: pageQuery.extend({
			status: z
				.enum(PREBOOK_STATUSES)
				.optional()
				.openapi({ param: { name: "status", in: "query" } }),
		}),
	},
	responses: {
		200: jsonResponse(pageSchema(PrebookSchema).openapi("PreBookingPage"), "A page of pre-bookings"),
		...errorResponses({ ...userErrors, ...paramErrors }),
	},
});

export const get = createRoute({
	operationId: "getPrebook",
	method: "get",
	path: "/prebooks/{id}",
	tags: ["Pre-bookings"],
	summary: "One of the caller's pre-bookings",
	...signedIn,
	request: { params: prebookId },
	responses: {
		200: jsonResponse(PrebookSchema, "The pre-booking"),
		...errorResponses({
			...userErrors,
			404: { codes: ["PREBOOK_NOT_FOUND"], description: "No such pre-booking (also another user's)" },
			...paramErrors,
		}),
	},
});

export const cancel = createRoute({
	operationId: "cancelPrebook",
	method: "delete",
	path: "/prebooks/{id}",
	tags: ["Pre-bookings"],
	summary: "Cancel a pre-booking",
	description:
		"The row stays with status `cancelled` and `cancelled_at`; the book can be pre-booked again (at the end of the line). Cancelling an `offered` pre-booking gives its held copy to the next in line at once.",
	...signedIn,
	request: { params: prebookId },
	responses: {
		204: noContent("Cancelled"),
		...errorResponses({
			...userErrors,
			404: { codes: ["PREBOOK_NOT_FOUND"], description: "No such pre-booking (also another user's)" },
			409: {
				codes: ["PREBOOK_ALREADY_CANCELLED", "PREBOOK_CLOSED"],
				description: "Cancelled already; PREBOOK_CLOSED for a `fulfilled` or `expired` pre-booking",
			},
			...paramErrors,
		}),
	},
});

/** A `POST /prebooks/{id}/<change>` of the caller's pre-booking, answered with the pre-booking after it. */
const prebookChange = <const P extends string, const C extends readonly [CodesFor<409>, ...CodesFor<409>[]]>(
	operationId: string,
	path: P,
	summary: string,
	description: string,
	conflicts: { codes: C; description: string },
) =>
	createRoute({
		operationId,
		method: "post",
		path,
		tags: ["Pre-bookings"],
		summary,
		description,
		...signedIn,
		request: { params: prebookId },
		responses: {
			200: jsonResponse(PrebookSchema, "The pre-booking after the change"),
			...errorResponses({
				...userErrors,
				404: { codes: ["PREBOOK_NOT_FOUND"], description: "No such pre-booking (also another user's)" },
				409: conflicts,
				...paramErrors,
			}),
		},
	});

export const pause = createRoute({
	operationId: "pausePrebook",
	method: "post",
	path: "/prebooks/{id}/pause",
	tags: ["Pre-bookings"],
	summary: "Pause a waiting pre-booking",
	description:
		"Until `until` (at most 180 days ahead) the pre-booking keeps its place but is passed over: no copy is offered to it and, on notify_all books, it is not notified (`on_hold_reason: paused`, `position` null). The pause ends by itself at `until` (the allocation engine then serves the line within a minute) or with `resume`. Pausing again moves the end.",
	...signedIn,
	request: { params: prebookId, body: jsonBody(PauseBody) },
	responses: {
		200: jsonResponse(PrebookSchema, "The paused pre-booking"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			404: { codes: ["PREBOOK_NOT_FOUND"], description: "No such pre-booking (also another user's)" },
			409: { codes: ["PREBOOK_NOT_WAITING"], description: "Only a waiting pre-booking can be paused" },
			...paramErrors,
		}),
	},
});

export const resume = prebookChange(
	"resumePrebook",
	"/prebooks/{id}/resume",
	"End a pause now",
	"The pause ends now and, in the same transaction, the allocation engine serves the book's line: a copy left beside the reader while they were paused is theirs if they are next.",
	{ codes: ["PREBOOK_NOT_PAUSED"], description: "The pre-booking is not paused (or no longer waiting)" },
);

export const pass = prebookChange(
	"passOffer",
	"/prebooks/{id}/pass",
	"Pass on the copy held for you",
	"An `offered` pre-booking goes back to `waiting` with its place in line, paused for 7 days, and its held copy goes to the next in line in the same transaction (webhook `prebook.passed`). Two passes per pre-booking (`passes_left`).",
	{
		codes: ["PREBOOK_NOT_OFFERED", "PREBOOK_PASS_LIMIT"],
		description: "Only an offer can be passed; PREBOOK_PASS_LIMIT when `passes_left` is 0",
	},
);

export const demand = createRoute({
	operationId: "adminPrebookDemand",
	method: "get",
	path: "/admin/prebooks/demand",
	tags: ["Admin"],
	summary: "Books with the most waiting pre-bookings (admin)",
	description:
		"Each with its stock, the copies held for its line and how many pre-bookings hold one (`offered_count`).",
	...adminOnly,
	request: { query: z.object({ limit: limitParam }) },
	responses: {
		200: jsonResponse(
			z.object({ items: z.array(DemandSchema) }).openapi("PreBookingDemandList"),
			"Most waiting first",
		),
		...errorResponses({ ...adminErrors, ...paramErrors }),
	},
});

export const line = createRoute({
	operationId: "adminPrebookLine",
	method: "get",
	path: "/admin/books/{id}/prebooks",
	tags: ["Admin"],
	summary: "A book's line of pre-bookings (admin)",
	description:
		"Every pre-booking of the book in line order (`created_at`, then `id`), with each waiting one's `position` among the members not passed over and its `on_hold_reason`; keyset pages. With `Accept: text/csv` the whole line (every page, same columns, same filter) is streamed as CSV instead; a cell starting with =, +, -, @, a TAB or a CR gets a leading `'` so spreadsheets do not read it as a formula.",
	...adminOnly,
	request: {
		params: z.object({ id: idParam("id") }),
		query: pageQuery.extend({
			status: z
				.enum(PREBOOK_STATUSES)
				.optional()
				.openapi({ param: { name: "status", in: "query" } }),
		}),
	},
	responses: {
		200: {
			description: "A page of the line (JSON), or the whole line (CSV)",
			headers: standardHeaders,
			content: {
				"application/json": { schema: pageSchema(LineEntrySchema).openapi("PreBookingLinePage") },
				"text/csv": { schema: z.string().openapi({ example: "id,user_id,email,status,position,..." }) },
			},
		},
		...errorResponses({ ...adminErrors, 404: ["BOOK_NOT_FOUND"], ...paramErrors }),
	},
});

export const guestCreate = createRoute({
	operationId: "createGuestPrebook",
	...publicRoute,
	method: "post",
	path: "/prebooks/guest",
	tags: ["Pre-bookings"],
	summary: "Pre-book with an email address only (double opt-in)",
	description:
		"Sends a confirmation link (`APP_URL/prebooks/confirm?token=…`, 24 hours, single use); nothing is booked until it is followed. The answer is the same whether or not the address has an account. One address gets at most 3 confirmation emails an hour and 10 a day, whoever asks: beyond that the request still answers 202 and no email is sent. One network may ask for at most 20 an hour (then 429).",
	request: { body: jsonBody(GuestPrebookBody) },
	responses: {
		202: jsonResponse(GuestPrebookAccepted, "The confirmation email is on its way"),
		...errorResponses({
			...bodyErrors,
			404: {
				codes: ["BOOK_NOT_FOUND", "WORK_NOT_FOUND"],
				description: "No such book or work (field `book_id` / `work_id`)",
			},
			409: {
				codes: ["PREBOOK_BOOK_IN_STOCK"],
				description: "The book (an accepted edition of the work) is in stock (field `book_id` / `work_id`)",
			},
			429: {
				codes: ["RATE_LIMITED"],
				description:
					"Too many confirmation links asked for from this network: 20 an hour (`Retry-After`). The per-address limit never answers 429.",
			},
		}),
	},
});

export const guestConfirm = createRoute({
	operationId: "confirmGuestPrebook",
	...publicRoute,
	method: "post",
	path: "/prebooks/guest/confirm",
	tags: ["Pre-bookings"],
	summary: "Confirm a guest pre-booking with the emailed link's token",
	description:
		"Creates the pre-booking on the account of the address — a passwordless guest account if it has none; a registered address gets it on its account. Following the link verifies the address. The link is single use: once followed (whatever the answer), it answers 400 AUTH_INVALID_TOKEN and creates nothing, also after the guest cancelled.",
	request: { body: jsonBody(GuestConfirmBody) },
	responses: {
		201: jsonResponse(PrebookSchema, "The pre-booking"),
		...errorResponses({
			...bodyErrors,
			400: {
				codes: ["AUTH_INVALID_TOKEN", "MALFORMED_BODY"],
				description:
					"The link is unknown, used or expired, the address belongs to a registered account not verified yet, or the body is not valid JSON",
			},
			404: { codes: ["BOOK_NOT_FOUND", "WORK_NOT_FOUND"], description: "The book or work is gone" },
			409: {
				codes: ["PREBOOK_BOOK_IN_STOCK", "PREBOOK_DUPLICATE", "PREBOOK_LIMIT_REACHED"],
				description:
					"The book is back in stock, the pre-booking exists, or the reader has 100 waiting (field `book_id`)",
			},
		}),
	},
});

/** The HTML answers of the confirmation page (lib/pages.ts). */
const page = (description: string) => ({ ...htmlPage(description), headers: standardHeaders });

export const showGuestConfirmPage = createRoute({
	operationId: "showGuestConfirmPage",
	...publicRoute,
	method: "get",
	path: "/prebooks/confirm",
	tags: ["Pre-bookings"],
	summary: "The page behind a guest confirmation email's link (changes nothing)",
	description:
		"Shows the book and the address, in the language the link was issued in, with a button that POSTs to this URL. A GET never changes anything: mail scanners follow links.",
	request: { query: PageQuery },
	responses: {
		200: page("What confirming does, and a button"),
		400: page(
			"The link is unknown, used or expired: a used or expired link's page speaks the language the link was issued in, an unknown one the browser's",
		),
		...errorResponses({
			422: { codes: ["VALIDATION_ERROR"], description: "The query string is not valid UTF-8" },
		}),
	},
});

export const guestConfirmPage = createRoute({
	operationId: "guestConfirmPage",
	...publicRoute,
	method: "post",
	path: "/prebooks/confirm",
	tags: ["Pre-bookings"],
	summary: "The confirmation page's form: confirm the guest pre-booking",
	description:
		"Does what `POST /prebooks/guest/confirm` does, with the link's token from this URL, and answers a page with the same status. Takes the page's form only.",
	middleware: [formBodyOnly("POST /prebooks/guest/confirm")] as const,
	request: {
		query: PageQuery,
		body: {
			required: true,
			description: "The page's form (`locale`: the page's language, which the answer speaks)",
			content: {
				"application/x-www-form-urlencoded": {
					schema: { type: "object" as const, properties: { locale: { type: "string" as const } } },
				},
			},
		},
	},
	responses: {
		201: page("The pre-booking exists"),
		400: page("The link is unknown, used or expired, or its address belongs to an account not verified yet"),
		404: page("The book is gone"),
		409: page("The book is back in stock, the pre-booking exists, or the reader has 100 waiting"),
		...errorResponses({
			413: ["PAYLOAD_TOO_LARGE"],
			415: {
				codes: ["UNSUPPORTED_MEDIA_TYPE"],
				description: "The body is not a form (JSON clients call the JSON route)",
			},
			422: { codes: ["VALIDATION_ERROR"], description: "The query string is not valid UTF-8" },
		}),
	},
});
