import { formatCents } from "../../lib/money.ts";
import { createRouter } from "../../lib/openapi.ts";
import * as routes from "./cart.routes.ts";
import { addToCart, type CartLine, getCart, removeCartItem, setCartItemQuantity } from "./cart.service.ts";

/** Totals in integer cents, formatted once: 3 × 10.10 + 0.20 is exactly "30.50". */
export function toCartResponse(lines: CartLine[]) {
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

export const cartRouter = createRouter()
	.openapi(routes.get, async (c) => c.json(toCartResponse(await getCart(c.var.db, c.var.caller.id)), 200))
	.openapi(routes.addItem, async (c) => {
		const { book_id, quantity } = c.req.valid("json");
		return c.json(toCartResponse(await addToCart(c.var.db, c.var.caller.id, book_id, quantity)), 201);
	})
	.openapi(routes.updateItem, async (c) => {
		const lines = await setCartItemQuantity(
			c.var.db,
			c.var.caller.id,
			c.req.valid("param").id,
			c.req.valid("json").quantity,
		);
		return c.json(toCartResponse(lines), 200);
	})
	.openapi(routes.removeItem, async (c) => {
		await removeCartItem(c.var.db, c.var.caller.id, c.req.valid("param").id);
		return c.body(null, 204);
	});
