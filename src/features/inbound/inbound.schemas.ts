import { z } from "@hono/zod-openapi";
import type { InboundRow } from "../../db/schema.ts";
import { timestamp } from "../../lib/openapi.ts";

export const InboundCreate = z
	.object({
		quantity: z
			.number({ message: "quantity must be an integer from 1 to 100000" })
			.int("quantity must be an integer from 1 to 100000")
			.min(1, "quantity must be an integer from 1 to 100000")
			.max(100_000, "quantity must be an integer from 1 to 100000"),
		expected_at: z.iso
			.datetime({
				offset: true,
				error: "expected_at must be an RFC 3339 date-time, e.g. 2027-01-31T09:00:00Z",
			})
			.openapi({ description: "When the supplier's copies are expected", example: "2027-01-31T09:00:00Z" }),
	})
	.openapi("InboundCreate");

export const InboundSchema = z
	.object({
		id: z.number().int(),
		book_id: z.number().int(),
		quantity: z.number().int(),
		expected_at: timestamp,
		received_at: timestamp.nullable().openapi({
			description: "Set by the first restock up to 7 days before `expected_at` or any time after it",
		}),
	})
	.openapi("Inbound");

export const toInboundResponse = (row: InboundRow): z.infer<typeof InboundSchema> => ({
	id: row.id,
	book_id: row.bookId,
	quantity: row.quantity,
	expected_at: row.expectedAt,
	received_at: row.receivedAt,
});
