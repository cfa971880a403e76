/**
 * The Worker's configuration, parsed once per isolate from its bindings by one zod schema. A missing or
 * invalid value is a deployment error: requests fail with INTERNAL_ERROR and a log line naming the
 * variable, and /health answers 503 saying which one — never a default secret, never a silent fallback.
 */
import { z } from "zod";
import { logEvent } from "./log.ts";

/** Payment providers the Worker ships (features/orders/payment.ts implements each). */
const PAYMENT_PROVIDERS = ["test"] as const;
export type PaymentProviderName = (typeof PAYMENT_PROVIDERS)[number];

/** A comma-separated variable as a list of trimmed, non-empty items. */
const parseList = (value: string | undefined): string[] =>
	(value ?? "")
		.split(",")
		.map((item) => item.trim())
		.filter(Boolean);

/** A comma-separated variable that must be set (an empty value is an empty list, on purpose). */
const commaList = z
	.string({ error: "is missing (set it empty for none)" })
	.transform((value) => parseList(value));

/** A variable's message: "is missing" when it is not set at all, `message` when it is set but wrong. */
const orMissing = (message: string) => (issue: { input?: unknown }) =>
	issue.input === undefined ? "is missing" : message;

const configSchema = z.object({
	JWT_SECRET: z
		.string({ error: "is missing; set it with `wrangler secret put JWT_SECRET`" })
		.min(32, "must be at least 32 characters"),
	ADMIN_EMAILS: commaList.pipe(
		z.array(z.email("must be a comma-separated list of email addresses").transform((e) => e.toLowerCase())),
	),
	CORS_ORIGINS: commaList.pipe(
		z.array(
			z.union([z.literal("*"), z.url({ protocol: /^https?$/ })], { error: "must list http(s) origins or *" }),
		),
	),
	APP_URL: z
		.url({ protocol: /^https?$/, error: orMissing("must be the storefront's http(s) URL") })
		.transform((url) => url.replace(/\/+$/, "")),
	API_URL: z
		.url({
			protocol: /^https?$/,
			error: orMissing("must be this API's public http(s) URL (unsubscribe links point at it)"),
		})
		.transform((url) => url.replace(/\/+$/, "")),
	UNSUBSCRIBE_SECRET: z
		.string({ error: "is missing; set it with `wrangler secret put UNSUBSCRIBE_SECRET`" })
		.min(32, "must be at least 32 characters"),
	MAIL_FROM: z
		.string({ error: "is missing" })
		.regex(
			/^(?:[^<>\r\n]+<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/,
			'must be "Name <address>" or an address',
		),
	PAYMENT_PROVIDER: z.enum(PAYMENT_PROVIDERS, { error: `must be one of: ${PAYMENT_PROVIDERS.join(", ")}` }),
	// "production" (wrangler.toml) turns on the production-only rules: no local values, webhook URLs public
	// https only. "development" (`npm run dev`, the tests) turns them off. Anything else, or nothing, is refused:
	// a typo must not silently switch the safety rules off.
	ENVIRONMENT: z.enum(["production", "development"], { error: 'must be "production" or "development"' }),
});

export interface AppConfig {
	jwtSecret: string;
	adminEmails: ReadonlySet<string>;
	corsOrigins: readonly string[];
	/** The storefront URL emails link to, without a trailing slash. */
	appUrl: string;
	/** This API's public URL (one-click unsubscribe links), without a trailing slash. */
	apiUrl: string;
	/** Signs unsubscribe links: its own secret, never JWT_SECRET, so one leaking cannot forge the other. */
	unsubscribeSecret: string;
	mailFrom: string;
	paymentProvider: PaymentProviderName;
	/** `ENVIRONMENT=production`: webhooks refuse plain http and non-public addresses. */
	production: boolean;
}

export class ConfigError extends Error {
	override name = "ConfigError";
	constructor(readonly problems: string[]) {
		super(`Invalid configuration: ${problems.join("; ")}`);
	}
}

const cache = new WeakMap<object, AppConfig>();

const LOCAL_HOST = /^(localhost|127(?:\.\d+){3}|\[::1\]|[^/]*\.(?:local|localhost|example|test))$/i;
const isLocalUrl = (url: string) => {
	try {
		return LOCAL_HOST.test(new URL(url).hostname);
	} catch {
		return false;
	}
};
const isLocalAddress = (address: string) => /@[^@>]*\.(?:local|localhost|example|test)>?\s*$/i.test(address);

/**
 * What a production Worker must not run with: the development values wrangler.toml carries for `npm run
 * dev` (localhost URLs and origins, `*.local` admins, the example sender). A deploy that forgot to set its
 * own fails loudly instead of emailing links to localhost or granting admin to a `.local` address.
 */
function localValuesIn(vars: {
	APP_URL: string;
	API_URL: string;
	CORS_ORIGINS: string[];
	ADMIN_EMAILS: string[];
	MAIL_FROM: string;
}): [string, string][] {
	const problems: [string, string][] = [];
	for (const name of ["APP_URL", "API_URL"] as const) {
		const url = vars[name];
		if (isLocalUrl(url)) problems.push([name, "must not be a local URL in production"]);
		else if (!url.startsWith("https://")) problems.push([name, "must be https in production"]);
	}
	if (vars.CORS_ORIGINS.some(isLocalUrl))
		problems.push(["CORS_ORIGINS", "must not list local origins in production"]);
	if (vars.ADMIN_EMAILS.some(isLocalAddress))
		problems.push(["ADMIN_EMAILS", "must not list local addresses in production"]);
	if (isLocalAddress(vars.MAIL_FROM))
		problems.push(["MAIL_FROM", "must be an address on your onboarded domain in production"]);
	return problems;
}

/** The parsed configuration; throws `ConfigError` naming every bad variable (never their values). */
export function loadConfig(env: Env): AppConfig {
	const cached = cache.get(env);
	if (cached) return cached;
	const parsed = configSchema
		.refine((vars) => vars.UNSUBSCRIBE_SECRET !== vars.JWT_SECRET, {
			path: ["UNSUBSCRIBE_SECRET"],
			message: "must differ from JWT_SECRET",
		})
		.superRefine((vars, ctx) => {
			if (vars.ENVIRONMENT !== "production") return;
			for (const [path, message] of localValuesIn(vars))
				ctx.addIssue({ code: "custom", path: [path], message });
		})
		.safeParse(env);
	if (!parsed.success) {
		const problems = parsed.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}`);
		logEvent("error", "config_invalid", { problems });
		throw new ConfigError(problems);
	}
	const vars = parsed.data;
	const config: AppConfig = {
		jwtSecret: vars.JWT_SECRET,
		adminEmails: new Set(vars.ADMIN_EMAILS),
		corsOrigins: vars.CORS_ORIGINS,
		appUrl: vars.APP_URL,
		apiUrl: vars.API_URL,
		unsubscribeSecret: vars.UNSUBSCRIBE_SECRET,
		mailFrom: vars.MAIL_FROM,
		paymentProvider: vars.PAYMENT_PROVIDER,
		production: vars.ENVIRONMENT === "production",
	};
	cache.set(env, config);
	return config;
}

/** The configuration, or null when it is invalid (for what must answer regardless: CORS, health). */
export function configOrNull(env: Env): AppConfig | null {
	try {
		return loadConfig(env);
	} catch (err) {
		if (err instanceof ConfigError) return null;
		throw err;
	}
}
