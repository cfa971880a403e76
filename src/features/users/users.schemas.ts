import { z } from "@hono/zod-openapi";
import type { UserRow } from "../../db/schema.ts";
import { timestamp } from "../../lib/openapi.ts";

/** A user as the API shows it (never the password hash or token version). */
export type UserView = Pick<UserRow, "id" | "email" | "fullName" | "role" | "isActive" | "createdAt">;

export const UserSchema = z
	.object({
		id: z.number().int(),
		email: z.string(),
		full_name: z.string().nullable(),
		role: z.enum(["user", "admin"]),
		is_active: z.boolean(),
		created_at: timestamp,
	})
	.openapi("User");

export const toUserResponse = (user: UserView): z.infer<typeof UserSchema> => ({
	id: user.id,
	email: user.email,
	full_name: user.fullName,
	role: user.role,
	is_active: user.isActive,
	created_at: user.createdAt,
});

/** Emails are compared trimmed and lower-cased everywhere. */
export const emailInput = z
	.string({ message: "email is required" })
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
