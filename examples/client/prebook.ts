/**
 * A consumer of the bookstore API: pre-book a book and tell the reader what happened, branching on the
 * typed status and error code.
 */
import type { AppType } from "bookstore-edge-api/client";
import { hc } from "hono/client";

const api = hc<AppType>("https://bookstore.example");

export async function prebook(accessToken: string, bookId: number): Promise<string> {
	const res = await api.prebooks.$post(
		{ json: { book_id: bookId } },
		{ headers: { Authorization: `Bearer ${accessToken}` } },
	);
	if (res.status === 201) {
		const prebooking = await res.json();
		return `Pre-booking ${prebooking.id} is ${prebooking.status}`;
	}
	if (res.status === 409) {
		// `{code, detail, field}`; `code` is exactly this route's 409 codes.
		const error = await res.json();
		switch (error.code) {
			case "PREBOOK_BOOK_IN_STOCK":
				return "It is in stock: add it to your cart instead";
			case "PREBOOK_DUPLICATE":
				return "You are already in line for this book";
			case "PREBOOK_LIMIT_REACHED":
				return `You have too many pre-bookings (${error.detail})`;
			default: {
				const unknown: never = error.code;
				return unknown;
			}
		}
	}
	if (res.status === 401) return "Sign in again";
	if (res.status === 404) {
		const error = await res.json();
		return `No such book (${error.field ?? "book_id"})`;
	}
	const error = await res.json();
	return `Unexpected ${res.status} ${error.code}: ${error.detail} (request ${error.request_id})`;
}
