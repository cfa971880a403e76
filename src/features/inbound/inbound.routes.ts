import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import {
	adminErrors,
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	noContent,
	paramErrors,
} from "../../lib/openapi.ts";
import { InboundCreate, InboundSchema } from "./inbound.schemas.ts";

const bookId = z.object({ id: idParam("id") });

export const create = createRoute({
	operationId: "addInbound",
	method: "post",
	path: "/admin/books/{id}/inbound",
	tags: ["Admin"],
	summary: "Record supply expected for a book (admin)",
	description:
		"Copies expected from a supplier: the waiting readers' estimates (`estimate.expected_by`, basis `inbound`) are worked out from them. A restock marks the entries expected up to 7 days after it as received.",
	...adminOnly,
	request: { params: bookId, body: jsonBody(InboundCreate) },
	responses: {
		201: jsonResponse(InboundSchema, "The expected supply"),
		...errorResponses({ ...adminErrors, ...bodyErrors, 404: ["BOOK_NOT_FOUND"] }),
	},
});

export const list = createRoute({
	operationId: "listInbound",
	method: "get",
	path: "/admin/books/{id}/inbound",
	tags: ["Admin"],
	summary: "A book's expected supply, by expected date (admin)",
	...adminOnly,
	request: { params: bookId },
	responses: {
		200: jsonResponse(z.object({ items: z.array(InboundSchema) }).openapi("InboundList"), "Every entry"),
		...errorResponses({ ...adminErrors, ...paramErrors, 404: ["BOOK_NOT_FOUND"] }),
	},
});

export const remove = createRoute({
	operationId: "removeInbound",
	method: "delete",
	path: "/admin/books/{id}/inbound/{inbound_id}",
	tags: ["Admin"],
	summary: "Forget an expected supply (admin)",
	...adminOnly,
	request: { params: z.object({ id: idParam("id"), inbound_id: idParam("inbound_id") }) },
	responses: {
		204: noContent("Removed"),
		...errorResponses({ ...adminErrors, ...paramErrors, 404: ["INBOUND_NOT_FOUND"] }),
	},
});
