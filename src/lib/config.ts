/**
 * Runtime configuration read from the Worker's bindings. A missing or weak secret is a deployment error:
 * requests fail with INTERNAL_ERROR and a loud log line (and /health answers 503) instead of running
 * with a default secret.
 */
import { logEvent } from "./log.ts";

export interface AppConfig {
	jwtSecret: string;
	adminEmails: ReadonlySet<string>;
}

export class ConfigError extends Error {
	override name = "ConfigError";
}

const MIN_SECRET_LENGTH = 32;

/** A comma-separated variable as a list of trimmed, non-empty items. */
export const parseList = (value: string | undefined): string[] =>
	(value ?? "")
		.split(",")
		.map((item) => item.trim())
		.filter(Boolean);

/** The storefront URL emails link to, without a trailing slash. */
export const storefrontUrl = (env: Env): string => (env.APP_URL ?? "").replace(/\/+$/, "");

const cache = new WeakMap<object, AppConfig>();

export function loadConfig(env: Env): AppConfig {
	const cached = cache.get(env);
	if (cached) return cached;
	const jwtSecret = env.JWT_SECRET;
	if (typeof jwtSecret !== "string" || jwtSecret.length < MIN_SECRET_LENGTH) {
		logEvent("error", "config_invalid", {
			problem: `JWT_SECRET is missing or shorter than ${MIN_SECRET_LENGTH} characters; set it with \`wrangler secret put JWT_SECRET\``,
		});
		throw new ConfigError("JWT_SECRET is not configured");
	}
	const config: AppConfig = {
		jwtSecret,
		adminEmails: new Set(parseList(env.ADMIN_EMAILS).map((email) => email.toLowerCase())),
	};
	cache.set(env, config);
	return config;
}
