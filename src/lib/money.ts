/**
 * Money is integer cents inside; the API takes a number or a decimal string with at most 2 decimals and
 * always answers with a 2-decimal string. Parsing goes through the decimal text, never float arithmetic.
 */
import { z } from "@hono/zod-openapi";

const DECIMAL = /^(0|[1-9]\d{0,8})(?:\.(\d{1,2}))?$/;
const MAX_PRICE_CENTS = 100_000_00;

/** "19.9" → 1990; null when not a plain non-negative decimal with at most 2 decimals. */
export function parseCents(value: string): number | null {
	const match = DECIMAL.exec(value);
	if (!match) return null;
	const [, whole = "0", fraction = ""] = match;
	return Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
}

export function formatCents(cents: number): string {
	const sign = cents < 0 ? "-" : "";
	const abs = Math.abs(cents);
	return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** A price field: `19.99` or `"19.99"`, 0 < price <= 100000, parsed to cents. */
export const priceInput = z
	.union([z.number(), z.string()])
	.transform((value, ctx) => {
		// String(19.99) is "19.99"; String(1e-7) is "1e-7", which the pattern rejects.
		const cents = parseCents(typeof value === "number" ? String(value) : value.trim());
		if (cents === null) {
			// A negative or malformed number: say the whole rule, the range included (-1 is no "decimal" issue).
			ctx.addIssue({
				code: "custom",
				message: "Price must be a decimal greater than 0 and at most 100000, with at most 2 decimals",
			});
			return z.NEVER;
		}
		if (cents <= 0 || cents > MAX_PRICE_CENTS) {
			ctx.addIssue({ code: "custom", message: "Price must be greater than 0 and at most 100000" });
			return z.NEVER;
		}
		return cents;
	})
	.openapi({
		description: "Number or decimal string with at most 2 decimals, 0 < price <= 100000",
		example: "19.99",
	});

export const priceOutput = z
	.string()
	.regex(/^\d+\.\d{2}$/)
	.openapi({ example: "19.99" });
