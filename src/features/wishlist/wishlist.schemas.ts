import { z } from "@hono/zod-openapi";
import { formatCents, priceOutput } from "../../lib/money.ts";
import { idField, timestamp } from "../../lib/openapi.ts";

export interface WishlistView {
	bookId: number;
	bookTitle: string;
	bookAuthor: string;
	priceCents: number;
	stockQuantity: number;
	addedAt: string;
}

export const WishlistItemSchema = z
	.object({
		book_id: z.number().int(),
		book_title: z.string(),
		book_author: z.string(),
		price: priceOutput,
		stock_quantity: z.number().int(),
		added_at: timestamp,
	})
	.openapi("WishlistItem");

export const WishlistAdd = z.object({ book_id: idField("book_id") }).openapi("WishlistAdd");

export const toWishlistItem = (item: WishlistView): z.infer<typeof WishlistItemSchema> => ({
	book_id: item.bookId,
	book_title: item.bookTitle,
	book_author: item.bookAuthor,
	price: formatCents(item.priceCents),
	stock_quantity: item.stockQuantity,
	added_at: item.addedAt,
});
