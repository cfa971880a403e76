/**
 * ISBN-10 / ISBN-13 validation with checksums. Hyphens and spaces are allowed in input and removed.
 *
 * One book has one ISBN whichever form it is given in, so everything is kept as ISBN-13: an ISBN-10 and its
 * ISBN-13 then collide on the unique index instead of making two books.
 */

/** The ISBN-13 of a valid ISBN-10 or ISBN-13 (hyphens and spaces allowed), or null when it is not one. */
export function normalizeIsbn(input: string): string | null {
	const compact = input.replace(/[-\s]/g, "").toUpperCase();
	if (/^\d{9}[\dX]$/.test(compact)) return isbn10Valid(compact) ? isbn10ToIsbn13(compact) : null;
	if (/^\d{13}$/.test(compact)) return isbn13Valid(compact) ? compact : null;
	return null;
}

/**
 * The ISBN-13 check digit of its first 12 digits: weights 1,3,1,3,… from the left, digit =
 * (10 − sum mod 10) mod 10. The one copy for the app, the seed script and the tests.
 */
export function isbn13CheckDigit(first12: string): string {
	if (!/^\d{12}$/.test(first12)) throw new RangeError("isbn13CheckDigit takes exactly 12 digits");
	let sum = 0;
	for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
	return String((10 - (sum % 10)) % 10);
}

/**
 * A valid compact ISBN-10 (9 digits + check digit 0–9 or X) as ISBN-13: "978" + its first 9 digits + a new
 * ISBN-13 check digit; the ISBN-10 check digit is dropped (every ISBN-10 lives under the 978 prefix).
 * E.g. 0-306-40615-2 → 978030640615 + 7.
 *
 * A data migration can do the same in SQL without a function: for the 9 kept digits d1…d9 the prefix
 * 9,7,8 weighs 9·1 + 7·3 + 8·1 = 38, then d1…d9 weigh 3,1,3,1,3,1,3,1,3, so
 *   check = (10 − (38 + 3·(d1+d3+d5+d7+d9) + (d2+d4+d6+d8)) mod 10) mod 10
 * with dN = CAST(substr(isbn, N, 1) AS INTEGER), applied to rows where length(isbn) = 10.
 */
export function isbn10ToIsbn13(isbn10: string): string {
	const first12 = `978${isbn10.slice(0, 9)}`;
	return `${first12}${isbn13CheckDigit(first12)}`;
}

function isbn10Valid(isbn: string): boolean {
	let sum = 0;
	for (let i = 0; i < 10; i++) {
		const char = isbn[i] as string;
		sum += (char === "X" ? 10 : Number(char)) * (10 - i);
	}
	return sum % 11 === 0;
}

function isbn13Valid(isbn: string): boolean {
	return isbn13CheckDigit(isbn.slice(0, 12)) === isbn[12];
}
