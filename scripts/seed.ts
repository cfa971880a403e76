/**
 * Demo data for local development: genres, 20 books (some out of stock, ready to pre-book), three works
 * with two or three editions each (some out of stock: a work can be pre-booked in any format), an admin
 * and a reader. Written once: a database that already has the demo admin is left as it is.
 * The credentials (scripts/demo-accounts.ts) exist only in the local D1 under .wrangler/ and are printed by
 * `npm run dev`.
 */
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { getPlatformProxy } from "wrangler";
import { books, type Format, genres, users, works } from "../src/db/schema.ts";
import { genreKey } from "../src/lib/genre-name.ts";
import { isbn13CheckDigit } from "../src/lib/isbn.ts";
import { hashPassword } from "../src/lib/password.ts";
import { DEMO_ADMIN, DEMO_READER } from "./demo-accounts.ts";

export { DEMO_ADMIN, DEMO_READER };

const GENRES = ["Fiction", "Science Fiction", "Fantasy", "Mystery", "History", "Poetry"] as const;

/** [title, author, price, stock, genre, published] — public-domain classics. */
const BOOKS: [string, string, string, number, (typeof GENRES)[number], string | null][] = [
	["Pride and Prejudice", "Jane Austen", "9.99", 12, "Fiction", "1813-01-28"],
	["Emma", "Jane Austen", "10.50", 0, "Fiction", "1815-12-23"],
	["Moby-Dick", "Herman Melville", "14.25", 4, "Fiction", "1851-10-18"],
	["Middlemarch", "George Eliot", "13.00", 0, "Fiction", "1871-12-01"],
	["Great Expectations", "Charles Dickens", "11.75", 7, "Fiction", "1861-08-01"],
	["The Time Machine", "H. G. Wells", "8.40", 9, "Science Fiction", "1895-05-07"],
	["The War of the Worlds", "H. G. Wells", "9.10", 0, "Science Fiction", "1898-01-01"],
	["Frankenstein", "Mary Shelley", "7.95", 5, "Science Fiction", "1818-01-01"],
	["Twenty Thousand Leagues Under the Seas", "Jules Verne", "12.60", 0, "Science Fiction", "1870-06-20"],
	["Alice's Adventures in Wonderland", "Lewis Carroll", "6.99", 20, "Fantasy", "1865-11-26"],
	["The Wonderful Wizard of Oz", "L. Frank Baum", "8.25", 0, "Fantasy", "1900-05-17"],
	["Peter Pan", "J. M. Barrie", "7.50", 3, "Fantasy", "1911-10-11"],
	["The Hound of the Baskervilles", "Arthur Conan Doyle", "9.45", 6, "Mystery", "1902-04-01"],
	["The Moonstone", "Wilkie Collins", "10.20", 0, "Mystery", "1868-07-01"],
	["The Mysterious Affair at Styles", "Agatha Christie", "11.30", 8, "Mystery", "1920-10-01"],
	["The Secret Adversary", "Agatha Christie", "10.80", 1, "Mystery", "1922-01-01"],
	[
		"The History of the Decline and Fall of the Roman Empire",
		"Edward Gibbon",
		"24.00",
		2,
		"History",
		"1776-02-17",
	],
	["The Histories", "Herodotus", "15.50", 0, "History", null],
	["Leaves of Grass", "Walt Whitman", "9.00", 4, "Poetry", "1855-07-04"],
	["The Raven and Other Poems", "Edgar Allan Poe", "5.75", 0, "Poetry", "1845-11-19"],
];

/**
 * Works: the demo book of that title becomes its edition in `format`, and `more` editions are added
 * ([format, price, stock]). Emma's editions are all out of stock, so the work can be pre-booked as a whole.
 */
const WORKS: { title: string; format: Format; more: [Format, string, number][] }[] = [
	{
		title: "Middlemarch",
		format: "paperback",
		more: [
			["hardcover", "29.00", 0],
			["large_print", "18.50", 2],
		],
	},
	{ title: "Emma", format: "paperback", more: [["hardcover", "24.00", 0]] },
	{ title: "Moby-Dick", format: "paperback", more: [["audiobook", "19.99", 0]] },
];

/** A valid ISBN-13 for the n-th demo book (978 + 9 digits + check digit). */
function demoIsbn(n: number): string {
	const first12 = `97800000${String(1000 + n)}`.slice(0, 12);
	return `${first12}${isbn13CheckDigit(first12)}`;
}

/**
 * Seeds the local D1 of `npm run dev` (`.wrangler/state`), or the one persisted under `persistTo` (a
 * `wrangler dev --persist-to` directory, as the demo's test uses).
 */
export async function seedDemoData(persistTo?: string): Promise<"seeded" | "already seeded"> {
	const { env, dispose } = await getPlatformProxy({
		configPath: "wrangler.toml",
		...(persistTo ? { persist: { path: `${persistTo}/v3` } } : {}),
	});
	try {
		const db = drizzle(env.DB as Parameters<typeof drizzle>[0]);
		const existing = await db.select({ id: users.id }).from(users).limit(1);
		if (existing.length > 0) return "already seeded";

		const [adminHash, readerHash] = await Promise.all([
			hashPassword(DEMO_ADMIN.password),
			hashPassword(DEMO_READER.password),
		]);
		// One INSERT per book (D1 allows at most 100 bound parameters per statement), all in one transaction.
		const bookInserts = BOOKS.map(([title, author, price, stock, genre, published], index) =>
			db.insert(books).values({
				title,
				author,
				priceCents: Math.round(Number(price) * 100),
				isbn: demoIsbn(index + 1),
				description: `${title} by ${author}.`,
				genreId: sql`(SELECT id FROM genres WHERE name = ${genre})`,
				publishDate: published,
				stockQuantity: stock,
			}),
		);
		await db.batch([
			db.insert(genres).values(GENRES.map((name) => ({ name, nameKey: genreKey(name) }))),
			db.insert(users).values([
				// Verified: the demo accounts receive restock and hold emails (in the local email output).
				{
					email: DEMO_ADMIN.email,
					passwordHash: adminHash,
					fullName: "Demo Admin",
					role: "admin",
					emailVerified: true,
				},
				{
					email: DEMO_READER.email,
					passwordHash: readerHash,
					fullName: "Demo Reader",
					role: "user",
					emailVerified: true,
				},
			]),
			...bookInserts,
			...WORKS.flatMap(({ title, format, more }, w) => {
				const [, author, , , genre, published] = BOOKS.find(([name]) => name === title) ?? [];
				const work = sql`(SELECT id FROM works WHERE title = ${title})`;
				return [
					db.insert(works).values({ title, author: author ?? "" }),
					db.update(books).set({ workId: work, format }).where(sql`${books.title} = ${title}`),
					...more.map(([edition, price, stock], e) =>
						db.insert(books).values({
							title,
							author: author ?? "",
							priceCents: Math.round(Number(price) * 100),
							isbn: demoIsbn(BOOKS.length + 1 + w * 10 + e),
							description: `${title} by ${author}, ${edition.replace("_", " ")} edition.`,
							genreId: sql`(SELECT id FROM genres WHERE name = ${genre ?? "Fiction"})`,
							publishDate: published ?? null,
							workId: work,
							format: edition,
							stockQuantity: stock,
						}),
					),
				];
			}),
		]);
		return "seeded";
	} finally {
		await dispose();
	}
}
