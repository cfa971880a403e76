import { z } from "@hono/zod-openapi";
import type { UserRow } from "../../db/schema.ts";
import { LOCALES, type Locale } from "../../i18n/index.ts";
import { formatCents } from "../../lib/money.ts";
import { timestamp } from "../../lib/openapi.ts";
import { ianaTimeZone } from "../../lib/time-zone.ts";

/** A user as the API shows it (never the password hash or token version). */
export type UserView = Pick<
	UserRow,
	"id" | "email" | "fullName" | "role" | "isActive" | "emailVerified" | "createdAt"
>;

export const UserSchema = z
	.object({
		id: z.number().int(),
		email: z.string(),
		full_name: z.string().nullable(),
		role: z.enum(["user", "admin"]),
		is_active: z.boolean(),
		email_verified: z.boolean().openapi({ description: "The owner followed the emailed verification link" }),
		created_at: timestamp,
	})
	.openapi("User");

export const toUserResponse = (user: UserView): z.infer<typeof UserSchema> => ({
	id: user.id,
	email: user.email,
	full_name: user.fullName,
	role: user.role,
	is_active: user.isActive,
	email_verified: user.emailVerified,
	created_at: user.createdAt,
});

/**
 * Why mail to a syntactically valid address could not be delivered, or null: SMTP limits the part before
 * the @ to 64 octets (RFC 5321 §4.5.3.1.1), and DNS each domain label to 63, which may neither start nor
 * end with a hyphen (RFC 1035 §2.3.1).
 */
function undeliverable(email: string): string | null {
	const at = email.lastIndexOf("@");
	if (at > 64) return "email must have at most 64 characters before the @";
	for (const label of email.slice(at + 1).split(".")) {
		if (label.length > 63) return "email must have at most 63 characters in each part of its domain";
		if (label.startsWith("-") || label.endsWith("-"))
			return "email must not have a part of its domain that starts or ends with '-'";
	}
	return null;
}

/** Emails are compared trimmed and lower-cased everywhere. */
export const emailInput = z
	.string()
	.trim()
	.normalize("NFC")
	.toLowerCase()
	.pipe(
		z
			.email("email must be a valid email address")
			.max(254, "email must be at most 254 characters")
			.superRefine((email, ctx) => {
				const problem = undeliverable(email);
				if (problem) ctx.addIssue({ code: "custom", message: problem });
			}),
	)
	.openapi({ format: "email", example: "reader@example.com" });

export const UserPatch = z
	.object({
		is_active: z.boolean().optional(),
		role: z.enum(["user", "admin"]).optional(),
	})
	.openapi("UserPatch");

export const PreferencesSchema = z
	.object({
		restock_emails: z.boolean().openapi({
			description: "Back-in-stock and hold emails; when off they are recorded as skipped, never sent",
		}),
		locale: z.enum(LOCALES).openapi({ description: "The language of the store's emails" }),
		time_zone: z.string().openapi({
			description:
				"IANA time zone: emails show times in it, and a hold never ends between 21:00 and 09:00 there",
			example: "Europe/Berlin",
		}),
	})
	.openapi("Preferences");

export const PreferencesPatch = z
	.object({
		restock_emails: z.boolean().optional(),
		locale: z.enum(LOCALES, { message: `locale must be one of ${LOCALES.join(", ")}` }).optional(),
		time_zone: z
			.string()
			.max(64, "time_zone must be an IANA time zone such as Europe/Berlin")
			.transform((zone, ctx) => {
				const chosen = ianaTimeZone(zone);
				if (chosen === null) {
					ctx.addIssue({
						code: "custom",
						message: "time_zone must be an IANA time zone such as Europe/Berlin",
					});
					return z.NEVER;
				}
				return chosen;
			})
			.optional(),
	})
	.openapi("PreferencesPatch");

export interface PreferencesView {
	restockEmails: boolean;
	locale: string;
	timeZone: string;
}

export const toPreferencesResponse = (row: PreferencesView): z.infer<typeof PreferencesSchema> => ({
	restock_emails: row.restockEmails,
	locale: (LOCALES as readonly string[]).includes(row.locale) ? (row.locale as Locale) : "en",
	time_zone: row.timeZone,
});

export const DeleteAccountBody = z
	.object({ password: z.string().min(1).max(128) })
	.openapi("DeleteAccountRequest");

/** Everything the bookstore holds about one user (GET /users/me/export). */
export const AccountExportSchema = z
	.object({
		exported_at: timestamp,
		account: UserSchema,
		preferences: PreferencesSchema,
		pre_bookings: z.array(z.record(z.string(), z.unknown())),
		wishlist: z.array(z.record(z.string(), z.unknown())),
		cart: z.array(z.record(z.string(), z.unknown())),
		orders: z.array(
			z.object({
				id: z.number().int(),
				status: z.string(),
				total: z.string().openapi({ example: "21.00" }),
				created_at: timestamp,
				items: z.array(
					z.object({
						book_id: z.number().int().nullable(),
						title: z.string(),
						unit_price: z.string().openapi({ example: "10.50" }),
						quantity: z.number().int(),
					}),
				),
			}),
		),
		emails: z.array(z.record(z.string(), z.unknown())).openapi({
			description: "Restock and hold emails: which book, sent, failed, skipped or dead, and when",
		}),
		login_networks: z.array(z.object({ network: z.string(), last_login_at: timestamp })).openapi({
			description: "The networks (IPv4 address or IPv6 /64) the account signed in from, last 30 days",
		}),
		email_links: z
			.array(
				z.object({
					purpose: z.string(),
					created_at: timestamp,
					expires_at: timestamp,
					used_at: timestamp.nullable(),
				}),
			)
			.openapi({
				description:
					"Emailed links asked for the account or its address: what and when (never the link, nor the network of whoever asked)",
			}),
		failed_logins: z.array(z.object({ attempted_at: timestamp })).openapi({
			description:
				"Failed logins to the address still counted by the login limits (15 minutes): when (anyone may try an address: never their network)",
		}),
		sessions: z
			.array(z.object({ created_at: timestamp, expires_at: timestamp, revoked_at: timestamp.nullable() }))
			.openapi({
				description: "Refresh tokens not yet purged: when each was issued, until when (never the token)",
			}),
	})
	.openapi("AccountExport");

type Rows = Record<string, unknown>[];

/** What the export read (`exportAccount`), row by row as D1 returned it. */
export interface AccountExportView {
	user: UserView & PreferencesView;
	prebookings: Rows;
	wishlist: Rows;
	cart: Rows;
	orders: {
		id: number;
		status: string;
		total_cents: number;
		created_at: string;
		items: { book_id: number | null; title: string; unit_price_cents: number; quantity: number }[];
	}[];
	emails: Rows;
	networks: { network: string; last_login_at: string }[];
	links: {
		purpose: string;
		created_at: string;
		expires_at: string;
		used_at: string | null;
	}[];
	failures: { attempted_at: string }[];
	sessions: { created_at: string; expires_at: string; revoked_at: string | null }[];
}

/** The export as the contract shows it: money as 2-decimal strings, as every other answer gives it. */
export const toAccountExport = (data: AccountExportView, at: Date): z.infer<typeof AccountExportSchema> => ({
	exported_at: at.toISOString(),
	account: toUserResponse(data.user),
	preferences: toPreferencesResponse(data.user),
	pre_bookings: data.prebookings,
	wishlist: data.wishlist,
	cart: data.cart,
	orders: data.orders.map(({ total_cents, items, ...order }) => ({
		...order,
		total: formatCents(total_cents),
		items: items.map(({ unit_price_cents, ...item }) => ({
			...item,
			unit_price: formatCents(unit_price_cents),
		})),
	})),
	emails: data.emails,
	login_networks: data.networks,
	email_links: data.links,
	failed_logins: data.failures,
	sessions: data.sessions,
});
