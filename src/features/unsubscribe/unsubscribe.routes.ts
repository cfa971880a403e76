import { createRoute } from "@hono/zod-openapi";
import { errorResponses, publicRoute, standardHeaders } from "../../lib/openapi.ts";
import { htmlPage } from "../../lib/pages.ts";
import { oneClickBody, oneClickBodyOnly, UnsubscribeParams } from "./unsubscribe.schemas.ts";

export const show = createRoute({
	operationId: "showUnsubscribePage",
	...publicRoute,
	method: "get",
	path: "/unsubscribe/{token}",
	tags: ["Unsubscribe"],
	summary: "The page behind an email's unsubscribe link (changes nothing)",
	description:
		"Says what unsubscribing will do, with a button that POSTs. A GET never changes anything: mail scanners follow links. No login: the signed token names the reader, the pre-booking and the scope (this pre-booking, or all restock emails).",
	request: { params: UnsubscribeParams },
	responses: {
		200: { ...htmlPage("What the link will do, and a button"), headers: standardHeaders },
		404: { ...htmlPage("The token is unknown, malformed or was tampered with"), headers: standardHeaders },
		...errorResponses({}),
	},
});

export const confirm = createRoute({
	operationId: "unsubscribe",
	...publicRoute,
	method: "post",
	path: "/unsubscribe/{token}",
	tags: ["Unsubscribe"],
	summary: "One-click unsubscribe (RFC 8058)",
	description:
		"Takes `application/x-www-form-urlencoded` `List-Unsubscribe=One-Click` (what mail providers send), the page's form, or no body (a text body or one without a type is taken too: it is never read); only JSON is 415. Cancels the pre-booking (a held copy goes to the next in line) and, for an all-restock-emails token, turns restock emails off. Idempotent; no login.",
	middleware: [oneClickBodyOnly],
	request: { params: UnsubscribeParams, body: oneClickBody },
	responses: {
		200: { ...htmlPage("Done"), headers: standardHeaders },
		404: { ...htmlPage("The token is unknown, malformed or was tampered with"), headers: standardHeaders },
		...errorResponses({
			413: ["PAYLOAD_TOO_LARGE"],
			415: {
				codes: ["UNSUPPORTED_MEDIA_TYPE"],
				description: "The body is JSON (send the one-click form, or no body)",
			},
		}),
	},
});
