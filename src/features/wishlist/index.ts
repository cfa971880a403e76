import { formatCents } from "../../lib/money.ts";
import { createRouter } from "../../lib/openapi.ts";
import { decodeCursor, newestFirstCursor, toPage } from "../../lib/pagination.ts";
import * as routes from "./wishlist.routes.ts";
import { addToWishlist, listWishlist, removeFromWishlist, type WishlistView } from "./wishlist.service.ts";

const toItem = (item: WishlistView) => ({
	book_id: item.bookId,
	book_title: item.bookTitle,
	book_author: item.bookAuthor,
	price: formatCents(item.priceCents),
	stock_quantity: item.stockQuantity,
	added_at: item.addedAt,
});

export const wishlistRouter = createRouter()
	.openapi(routes.list, async (c) => {
		const { limit, cursor } = c.req.valid("query");
		const after = decodeCursor(cursor, newestFirstCursor);
		const rows = await listWishlist(c.var.db, c.var.caller.id, { after, limit });
		return c.json(
			toPage(rows, limit, toItem, (row) => ({ at: row.addedAt, id: row.id })),
			200,
		);
	})
	.openapi(routes.add, async (c) => {
		const item = await addToWishlist(c.var.db, c.var.caller.id, c.req.valid("json").book_id);
		return c.json(toItem(item), 201);
	})
	.openapi(routes.remove, async (c) => {
		await removeFromWishlist(c.var.db, c.var.caller.id, c.req.valid("param").book_id);
		return c.body(null, 204);
	});
