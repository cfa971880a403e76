import { z } from "@hono/zod-openapi";
import type { DRAW_STATUSES } from "../../db/schema.ts";
import { timestamp } from "../../lib/openapi.ts";

/** A draw as the public sees it: the seed only once closed (before, its commitment). */
export interface DrawView {
	id: number;
	status: (typeof DRAW_STATUSES)[number];
	seedCommitment: string;
	seed: string;
	copies: number;
	entries: number;
	openedAt: string;
	closedAt: string | null;
}

export const DrawSchema = z
	.object({
		id: z.number().int(),
		status: z.enum(["open", "closed"]).openapi({
			description:
				"`open`: taking no entries yet, its commitment public; `closed`: drawn, its seed published",
		}),
		seed_commitment: z
			.string()
			.openapi({ description: "Hex SHA-256 of the seed's 32 bytes, public from the start" }),
		seed: z
			.string()
			.nullable()
			.openapi({ description: "The seed (64 hex characters) once closed; null while open" }),
		copies: z.number().int().openapi({ description: "Copies drawn" }),
		entries: z.number().int().openapi({ description: "Pre-bookings in the draw" }),
		opened_at: timestamp,
		closed_at: timestamp.nullable(),
	})
	.openapi("Draw");

/** A draw being scored reads as open: its seed stays secret until it is closed. */
export const toDrawResponse = (row: DrawView): z.infer<typeof DrawSchema> => ({
	id: row.id,
	status: row.status === "closed" ? "closed" : "open",
	seed_commitment: row.seedCommitment,
	seed: row.status === "closed" ? row.seed : null,
	copies: row.copies,
	entries: row.entries,
	opened_at: row.openedAt,
	closed_at: row.closedAt,
});

export interface EntryView {
	prebookId: number;
	score: string;
	won: boolean;
}

export const EntrySchema = z
	.object({
		prebook_id: z.number().int(),
		score: z
			.string()
			.openapi({ description: 'Hex HMAC-SHA256 of "<draw_id>:<prebook_id>" keyed with the seed' }),
		won: z
			.boolean()
			.openapi({ description: "Offered a copy from this draw (the lowest scores, then runners-up)" }),
	})
	.openapi("DrawEntry");

export const toEntryResponse = (row: EntryView): z.infer<typeof EntrySchema> => ({
	prebook_id: row.prebookId,
	score: row.score,
	won: row.won,
});

/** Entries are ordered by score, then pre-booking id. */
export const entryCursor = z.object({ score: z.string().max(64), id: z.number().int().positive() });
