import { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import "../src/lib/validation-messages";

// The tests run on the same zod as the bundle: "zod" resolves to shims/zod.ts (wrangler.toml [alias]).
describe("zod as bundled", () => {
	it("keeps only the English locale, which is the default", () => {
		expect(Object.keys(z.locales)).toEqual(["en"]);
		expect(Object.keys(z.core.locales)).toEqual(["en"]);
		const tooSmall = { code: "too_small", origin: "number", minimum: 1, inclusive: true, input: 0, path: [] };
		expect(z.config().localeError?.(tooSmall as never)).toBe("Too small: expected number to be >=1");
	});

	it("words messages for people through the app's customError, which outranks the locale", () => {
		const result = z.object({ quantity: z.number().int().min(1) }).safeParse({ quantity: 0 });
		expect(result.error?.issues[0]?.message).toBe("quantity must be at least 1");
	});

	it("keeps the rest of zod's API, including the OpenAPI extension", () => {
		expect(typeof z.core.$ZodType).toBe("function");
		expect(typeof z.toJSONSchema).toBe("function");
		expect(typeof z.string().openapi).toBe("function");
		expect(z.coerce.number().parse("3")).toBe(3);
	});
});
