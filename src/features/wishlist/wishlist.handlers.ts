import type { AppRouteHandler } from "../../lib/app-env.ts";
import { decodeCursor, newestFirstCursor, toPage } from "../../lib/pagination.ts";
import type * as routes from "./wishlist.routes.ts";
import { toWishlistItem } from "./wishlist.schemas.ts";
import { addToWishlist, listWishlist, removeFromWishlist } from "./wishlist.service.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const { limit, cursor } = c.req.valid("query");
	const after = decodeCursor(cursor, newestFirstCursor);
	const rows = await listWishlist(c.var.db, c.var.caller.id, { after, limit });
	return c.json(
		toPage(rows, limit, toWishlistItem, (row) => ({ at: row.addedAt, id: row.id })),
		200,
	);
};

export const add: AppRouteHandler<typeof routes.add> = async (c) =>
	c.json(toWishlistItem(await addToWishlist(c.var.db, c.var.caller.id, c.req.valid("json").book_id)), 201);

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
	await removeFromWishlist(c.var.db, c.var.caller.id, c.req.valid("param").book_id);
	return c.body(null, 204);
};
