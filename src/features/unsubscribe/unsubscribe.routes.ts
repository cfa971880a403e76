import { createRoute } from "@hono/zod-openapi";
import { errorResponses, paramErrors, publicRoute, standardHeaders } from "../../lib/openapi.ts";
import { htmlPage, UnsubscribeParams } from "./unsubscribe.schemas.ts";

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
		404: { ...htmlPage("The token is unknown or was tampered with"), headers: standardHeaders },
		...errorResponses(paramErrors),
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
		"Takes `application/x-www-form-urlencoded` `List-Unsubscribe=One-Click` (what mail providers send) or the page's form. Cancels the pre-booking (a held copy goes to the next in line) and, for an all-restock-emails token, turns restock emails off. Idempotent; no login.",
	request: { params: UnsubscribeParams },
	responses: {
		200: { ...htmlPage("Done"), headers: standardHeaders },
		404: { ...htmlPage("The token is unknown or was tampered with"), headers: standardHeaders },
		...errorResponses(paramErrors),
	},
});
