/**
 * wrangler.toml is what `wrangler deploy` ships: it must carry no development value (those live in
 * scripts/local-vars.ts → .dev.vars), and it must ask for production's rules.
 */
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { LOCAL_VARS } from "../scripts/local-vars.ts";

describe("wrangler.toml", () => {
	const config = unstable_readConfig({ config: "wrangler.toml" });

	it("deploys with ENVIRONMENT=production and none of the development values", () => {
		expect(config.vars).toEqual({ ENVIRONMENT: "production", PAYMENT_PROVIDER: "test" });
		for (const name of Object.keys(LOCAL_VARS))
			if (name !== "ENVIRONMENT") expect(config.vars).not.toHaveProperty(name);
	});

	it("requires both secrets, so a deploy without them is refused by wrangler", () => {
		expect(config.secrets?.required).toEqual(["JWT_SECRET", "UNSUBSCRIBE_SECRET"]);
	});
});
