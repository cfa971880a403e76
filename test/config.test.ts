import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/lib/config";

const production = (vars: Record<string, string>) => ({ ...env, ENVIRONMENT: "production", ...vars }) as Env;
const problemsOf = (config: Env) => {
	try {
		loadConfig(config);
		return [];
	} catch (err) {
		if (err instanceof ConfigError) return err.problems;
		throw err;
	}
};

describe("a production Worker refuses the development configuration", () => {
	it("names every local value: localhost URLs, local origins, .local admins, the example sender", () => {
		// The test bindings are wrangler.toml's development values, as `npm run dev` uses them.
		const problems = problemsOf(production({}));
		expect(problems).toEqual(
			expect.arrayContaining([
				"APP_URL must not be a local URL in production",
				"API_URL must not be a local URL in production",
				"CORS_ORIGINS must not list local origins in production",
				"ADMIN_EMAILS must not list local addresses in production",
				"MAIL_FROM must be an address on your onboarded domain in production",
			]),
		);
	});

	it("accepts a real production configuration (https, public origins, real addresses)", () => {
		const problems = problemsOf(
			production({
				APP_URL: "https://shop.example.com",
				API_URL: "https://api.shop.example.com",
				CORS_ORIGINS: "https://shop.example.com",
				ADMIN_EMAILS: "owner@shop.example.com",
				MAIL_FROM: "Bookstore <notifications@shop.example.com>",
			}),
		);
		expect(problems).toEqual([]);
		expect(problemsOf(production({ APP_URL: "http://shop.example.com" }))).toContain(
			"APP_URL must be https in production",
		);
	});
});
