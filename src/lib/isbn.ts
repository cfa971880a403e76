/** ISBN-10 / ISBN-13 validation with checksums. Hyphens and spaces are allowed in input and removed. */

export function normalizeIsbn(input: string): string | null {
	const compact = input.replace(/[-\s]/g, "").toUpperCase();
	if (/^\d{9}[\dX]$/.test(compact)) return isbn10Valid(compact) ? compact : null;
	if (/^\d{13}$/.test(compact)) return isbn13Valid(compact) ? compact : null;
	return null;
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
	let sum = 0;
	for (let i = 0; i < 13; i++) sum += Number(isbn[i]) * (i % 2 === 0 ? 1 : 3);
	return sum % 10 === 0;
}
