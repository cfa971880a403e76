import { z } from "@hono/zod-openapi";
import type { UserRow } from "../../db/schema.ts";
import { timestamp } from "../../lib/openapi.ts";

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

/** Emails are compared trimmed and lower-cased everywhere. */
export const emailInput = z
	.string()
	.trim()
	.normalize("NFC")
	.toLowerCase()
	.pipe(z.email("email must be a valid email address").max(254, "email must be at most 254 characters"))
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
	})
	.openapi("Preferences");

export const PreferencesPatch = z.object({ restock_emails: z.boolean() }).openapi("PreferencesPatch");

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
		orders: z.array(z.record(z.string(), z.unknown())),
		emails: z.array(z.record(z.string(), z.unknown())).openapi({
			description: "Restock and hold emails: which book, sent, failed, skipped or dead, and when",
		}),
	})
	.openapi("AccountExport");
