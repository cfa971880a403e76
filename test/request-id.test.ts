import { describe, expect, it, vi } from "vitest";
import { api, createAdmin } from "./helpers";

/** Every JSON log line written while `work` runs. */
async function logLinesOf(work: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
	const lines: unknown[] = [];
	for (const level of ["log", "warn", "error"] as const) {
		vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(line));
	}
	await work();
	vi.restoreAllMocks();
	return lines.map((line) => JSON.parse(String(line)) as Record<string, unknown>);
}

describe("request ids", () => {
	it("a client's X-Request-Id is the id of the response, its error body and every log line of the request", async () => {
		const admin = await createAdmin();
		const id = `support-ticket-${crypto.randomUUID()}`;
		const book = await api("POST", "/books", {
			token: admin.token,
			body: { title: "Traced", author: "A", price: "1.00", stock_quantity: 0 },
		});
		let restock: Awaited<ReturnType<typeof api>> | undefined;
		const lines = await logLinesOf(async () => {
			restock = await api("PATCH", `/books/${book.body.id}/stock`, {
				token: admin.token,
				body: { quantity: 2 },
				headers: { "X-Request-Id": id },
			});
		});
		expect(restock?.headers.get("X-Request-Id")).toBe(id);
		expect(lines.map((line) => line.event)).toContain("restock_recorded");
		expect(lines.filter((line) => line.request_id !== id)).toEqual([]);

		const refused = await api("PATCH", "/books/999999999/stock", {
			token: admin.token,
			body: { quantity: 1 },
			headers: { "X-Request-Id": id },
		});
		expect(refused.status).toBe(404);
		expect(refused.body.request_id).toBe(id);
	});

	it("an id that is not a sane token is replaced, and the replacement is the one logged", async () => {
		const admin = await createAdmin();
		let res: Awaited<ReturnType<typeof api>> | undefined;
		const lines = await logLinesOf(async () => {
			const book = await api("POST", "/books", {
				token: admin.token,
				body: { title: "Traced", author: "A", price: "1.00", stock_quantity: 0 },
			});
			res = await api("PATCH", `/books/${book.body.id}/stock`, {
				token: admin.token,
				body: { quantity: 2 },
				headers: { "X-Request-Id": "not a token; injected" },
			});
		});
		const id = res?.headers.get("X-Request-Id");
		expect(id).toMatch(/^[0-9a-f-]{36}$/);
		expect(lines.find((line) => line.event === "restock_recorded")?.request_id).toBe(id);
	});
});
