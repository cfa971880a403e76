import { z } from "@hono/zod-openapi";
import { singleLineText } from "../../lib/text.ts";
import { emailInput } from "../users/users.schemas.ts";

const password = z
	.string()
	.min(8, "password must be 8 to 128 characters")
	.max(128, "password must be 8 to 128 characters")
	.openapi({ example: "correct horse battery" });

export const RegisterBody = z
	.object({
		email: emailInput,
		password,
		full_name: singleLineText("full_name", { max: 255 }).nullish(),
	})
	.openapi("RegisterRequest");

/** The example is the local demo reader that `npm run dev` seeds, so "Try it out" on /docs logs in at once. */
export const LoginBody = z
	.object({ email: emailInput, password: z.string().min(1).max(128) })
	.openapi("LoginRequest", {
		example: { email: "reader@bookstore.local", password: "reader-password-local" },
		description:
			"The example is the demo reader of a local `npm run dev` (admin: admin@bookstore.local / admin-password-local)",
	});

export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(512) }).openapi("RefreshRequest");

export const TokenPairSchema = z
	.object({
		access_token: z.string(),
		refresh_token: z.string(),
		token_type: z.literal("bearer"),
		expires_in: z.number().int().openapi({ description: "Access token lifetime in seconds", example: 900 }),
	})
	.openapi("TokenPair");

export type TokenPair = z.infer<typeof TokenPairSchema>;

/** An emailed link's token (verification, guest confirmation). */
export const EmailLinkBody = z.object({ token: z.string().min(1).max(512) }).openapi("EmailLinkRequest");
