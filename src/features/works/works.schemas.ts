import { z } from "@hono/zod-openapi";
import { FORMATS, type Format } from "../../db/schema.ts";
import { formatCents, priceOutput } from "../../lib/money.ts";
import { timestamp } from "../../lib/openapi.ts";
import { singleLineText } from "../../lib/text.ts";

const EditionSchema = z
	.object({
		book_id: z.number().int(),
		format: z.enum(FORMATS),
		isbn: z.string().nullable(),
		price: priceOutput,
		available_quantity: z.number().int().openapi({ description: "`stock_quantity − held_quantity`" }),
	})
	.openapi("Edition");

export const WorkSchema = z
	.object({
		id: z.number().int(),
		title: z.string(),
		author: z.string(),
		editions: z.array(EditionSchema).openapi({ description: "The work's editions (books), by id" }),
		created_at: timestamp,
	})
	.openapi("Work", {
		description:
			"A work groups the editions of one book (hardcover, paperback, large print…); a pre-booking of the work waits for any edition of a format it accepts.",
	});

export type WorkResponse = z.infer<typeof WorkSchema>;

/** A work as one read returns it: its editions as SQLite's JSON (`[[book_id, format, isbn, price_cents, available]]`). */
export interface WorkView {
	id: number;
	title: string;
	author: string;
	editionsJson: string;
	createdAt: string;
}

const Editions = z.array(
	z.tuple([z.number().int(), z.enum(FORMATS), z.string().nullable(), z.number().int(), z.number().int()]),
);

export const toWorkResponse = (work: WorkView): WorkResponse => ({
	id: work.id,
	title: work.title,
	author: work.author,
	editions: Editions.parse(JSON.parse(work.editionsJson)).map(([bookId, format, isbn, cents, available]) => ({
		book_id: bookId,
		format: format as Format,
		isbn,
		price: formatCents(cents),
		available_quantity: available,
	})),
	created_at: work.createdAt,
});

const workFields = {
	title: singleLineText("title", { max: 500 }),
	author: singleLineText("author", { max: 255 }),
};

export const WorkCreate = z.object(workFields).openapi("WorkCreate");

export const WorkPatch = z
	.object({ title: workFields.title.optional(), author: workFields.author.optional() })
	.openapi("WorkPatch", { description: "Either field, or both" });
