import { z } from "@hono/zod-openapi";
import { ORDER_STATUSES, type OrderStatus } from "../../db/schema.ts";
import { formatCents, priceOutput } from "../../lib/money.ts";
import { timestamp } from "../../lib/openapi.ts";

export interface OrderItemView {
	bookId: number | null;
	title: string;
	unitPriceCents: number;
	quantity: number;
}

export interface OrderView {
	id: number;
	userId: number;
	status: OrderStatus;
	totalCents: number;
	createdAt: string;
	items: OrderItemView[];
}

export const OrderSchema = z
	.object({
		id: z.number().int(),
		status: z.enum(ORDER_STATUSES),
		total: priceOutput,
		items: z.array(
			z.object({
				book_id: z.number().int().nullable().openapi({ description: "null once the book was deleted" }),
				title: z.string(),
				unit_price: priceOutput,
				quantity: z.number().int(),
			}),
		),
		created_at: timestamp,
	})
	.openapi("Order");

export const AdminOrderSchema = OrderSchema.extend({ user_id: z.number().int() }).openapi("AdminOrder");

export const CheckoutBody = z
	.object({
		payment_token: z.string().min(1).max(255).optional().openapi({ example: "tok_visa" }),
	})
	.openapi("CheckoutRequest");

export const CheckoutHeaders = z.object({
	"idempotency-key": z
		.string()
		.min(1)
		.max(255)
		.regex(/^[\x21-\x7e]+$/, "Idempotency-Key must be printable ASCII without spaces")
		.optional()
		.openapi({ param: { name: "idempotency-key", in: "header" }, example: "b6f1c6a0-checkout-1" }),
});

export const toOrderResponse = (order: OrderView): z.infer<typeof OrderSchema> => ({
	id: order.id,
	status: order.status,
	total: formatCents(order.totalCents),
	items: order.items.map((item) => ({
		book_id: item.bookId,
		title: item.title,
		unit_price: formatCents(item.unitPriceCents),
		quantity: item.quantity,
	})),
	created_at: order.createdAt,
});

export const toAdminOrderResponse = (order: OrderView): z.infer<typeof AdminOrderSchema> => ({
	...toOrderResponse(order),
	user_id: order.userId,
});
