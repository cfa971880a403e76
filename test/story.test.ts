import { beforeAll, describe, expect, it } from "vitest";
import {
	addToCart,
	api,
	buy,
	checkout,
	createAdmin,
	createBook,
	createUser,
	deliver,
	expectError,
	recordEmails,
	stockOf,
	stubQueue,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

describe("the whole story", () => {
	it("the last copy is sold, a fan pre-books, the admin restocks, the fan is emailed and buys it", async () => {
		const buyer = await createUser();
		const fan = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 1, price: "15.00" });
		expect((await buy(buyer, book.id)).status).toBe("confirmed");
		expect(await stockOf(book.id)).toBe(0);

		expectError(await addToCart(fan, book.id, 1), 409, "INSUFFICIENT_STOCK");
		const prebook = await api("POST", "/prebooks", { token: fan.token, body: { book_id: book.id } });
		expect(prebook.body.status).toBe("waiting");

		const queue = stubQueue();
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		expect(queue.published()).toEqual([expect.objectContaining({ book_id: book.id, user_ids: [fan.id] })]);
		expect((await api("GET", `/prebooks/${prebook.body.id}`, { token: fan.token })).body.status).toBe(
			"notified",
		);

		// The queue hands the message to the consumer, which emails the fan.
		const emails = recordEmails();
		const { result, ids } = await deliver("prebook-notifications", queue.published());
		expect(result.explicitAcks).toEqual(ids);
		expect(emails.recipients()).toEqual([fan.email]);

		await addToCart(fan, book.id, 1);
		const order = await checkout(fan);
		expect(order.body).toMatchObject({ status: "confirmed", total: "15.00" });
		expect(await stockOf(book.id)).toBe(1);
	});
});
