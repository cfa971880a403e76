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
		// The test bindings are the development values `npm run dev` passes (scripts/local-vars.ts).
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

describe("a deployment with only wrangler.toml's variables", () => {
	// What `wrangler deploy` would bind without the site's own values (wrangler.toml holds none of them).
	const { ADMIN_EMAILS, CORS_ORIGINS, APP_URL, API_URL, MAIL_FROM, ...deployed } = env;

	it("is refused, naming each site variable it lacks", () => {
		expect(problemsOf({ ...deployed, ENVIRONMENT: "production" } as Env)).toEqual([
			"ADMIN_EMAILS is missing (set it empty for none)",
			"CORS_ORIGINS is missing (set it empty for none)",
			"APP_URL is missing",
			"API_URL is missing",
			"MAIL_FROM is missing",
		]);
	});

	it("accepts empty admin and origin lists when they are set on purpose", () => {
		const config = loadConfig(
			production({
				ADMIN_EMAILS: "",
				CORS_ORIGINS: "",
				APP_URL: "https://shop.example.com",
				API_URL: "https://api.shop.example.com",
				MAIL_FROM: "Bookstore <notifications@shop.example.com>",
			}),
		);
		expect([...config.adminEmails]).toEqual([]);
		expect(config.corsOrigins).toEqual([]);
		expect(config.production).toBe(true);
	});

	it("refuses an ENVIRONMENT that is neither production nor development (a typo must not drop the rules)", () => {
		for (const environment of ["prod", "Production", ""])
			expect(problemsOf({ ...env, ENVIRONMENT: environment } as Env)).toEqual([
				'ENVIRONMENT must be "production" or "development"',
			]);
		const { ENVIRONMENT, ...unset } = env;
		expect(problemsOf(unset as unknown as Env)).toEqual([
			'ENVIRONMENT must be "production" or "development"',
		]);
	});
});
