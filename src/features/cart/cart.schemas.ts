import { z } from "@hono/zod-openapi";
import { MAX_CART_LINE_QUANTITY } from "../../db/schema.ts";
import { formatCents, priceOutput } from "../../lib/money.ts";
import { idField } from "../../lib/openapi.ts";

/** A cart line with the book's current title and price, and how many copies this user may buy. */
export interface CartLine {
	id: number;
	bookId: number;
	bookTitle: string;
	unitPriceCents: number;
	quantity: number;
	/** The book's available copies plus the copy held for this user, if any (API.md, Orders). */
	availableQuantity: number;
}

export const CartSchema = z
	.object({
		items: z.array(
			z.object({
				id: z.number().int(),
				book_id: z.number().int(),
				book_title: z.string(),
				unit_price: priceOutput,
				quantity: z.number().int(),
				line_total: priceOutput,
			}),
		),
		total: priceOutput,
	})
	.openapi("Cart");

const quantityMessage = `quantity must be an integer from 1 to ${MAX_CART_LINE_QUANTITY}`;
const quantity = z
	.number({ message: quantityMessage })
	.int(quantityMessage)
	.min(1, quantityMessage)
	.max(MAX_CART_LINE_QUANTITY, quantityMessage);

export const CartItemAdd = z.object({ book_id: idField("book_id"), quantity }).openapi("CartItemAdd");
export const CartItemUpdate = z.object({ quantity }).openapi("CartItemUpdate");

/** Totals in integer cents, formatted once: 3 × 10.10 + 0.20 is exactly "30.50". */
export function toCartResponse(lines: CartLine[]): z.infer<typeof CartSchema> {
	return {
		items: lines.map((line) => ({
			id: line.id,
			book_id: line.bookId,
			book_title: line.bookTitle,
			unit_price: formatCents(line.unitPriceCents),
			quantity: line.quantity,
			line_total: formatCents(line.unitPriceCents * line.quantity),
		})),
		total: formatCents(lines.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0)),
	};
}
