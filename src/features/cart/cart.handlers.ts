import type { AppRouteHandler } from "../../lib/app-env.ts";
import type * as routes from "./cart.routes.ts";
import { toCartResponse } from "./cart.schemas.ts";
import { addToCart, getCart, removeCartItem, setCartItemQuantity } from "./cart.service.ts";

export const get: AppRouteHandler<typeof routes.get> = async (c) =>
	c.json(toCartResponse(await getCart(c.var.db, c.var.caller.id)), 200);

export const addItem: AppRouteHandler<typeof routes.addItem> = async (c) => {
	const { book_id, quantity } = c.req.valid("json");
	return c.json(toCartResponse(await addToCart(c.var.db, c.var.caller.id, book_id, quantity)), 201);
};

export const updateItem: AppRouteHandler<typeof routes.updateItem> = async (c) => {
	const lines = await setCartItemQuantity(
		c.var.db,
		c.var.caller.id,
		c.req.valid("param").id,
		c.req.valid("json").quantity,
	);
	return c.json(toCartResponse(lines), 200);
};

export const removeItem: AppRouteHandler<typeof routes.removeItem> = async (c) => {
	await removeCartItem(c.var.db, c.var.caller.id, c.req.valid("param").id);
	return c.body(null, 204);
};
