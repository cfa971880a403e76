import { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";

// The tests run on the same zod as the bundle: "zod" resolves to shims/zod.ts (wrangler.toml [alias]).
describe("zod as bundled", () => {
	it("keeps only the English locale, which is the default", () => {
		expect(Object.keys(z.locales)).toEqual(["en"]);
		expect(Object.keys(z.core.locales)).toEqual(["en"]);
		const result = z.object({ quantity: z.number().int().min(1) }).safeParse({ quantity: 0 });
		expect(result.error?.issues[0]?.message).toBe("Too small: expected number to be >=1");
	});

	it("keeps the rest of zod's API, including the OpenAPI extension", () => {
		expect(typeof z.core.$ZodType).toBe("function");
		expect(typeof z.toJSONSchema).toBe("function");
		expect(typeof z.string().openapi).toBe("function");
		expect(z.coerce.number().parse("3")).toBe(3);
	});
});
