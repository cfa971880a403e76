-- Data for the hardening rules (API.md, Catalog):
-- 1. ISBNs are stored as ISBN-13: every stored ISBN-10 becomes its ISBN-13 (978 + the first nine digits +
--    a recomputed check digit; src/lib/isbn.ts `isbn10ToIsbn13`). A book whose ISBN-13 form already
--    belongs to another book keeps its ISBN-10 (the two would collide on uq_books_isbn): an admin must
--    merge them; `SELECT id, isbn FROM books WHERE length(isbn) = 10` lists any left.
-- 2. Genre names compare by `name_key` (NFKC + case folding, computed by the app). SQLite has no NFKC, so
--    existing rows get lower(name) — exact for ASCII names; a non-ASCII name keeps ASCII-only folding
--    until it is renamed.
UPDATE `books` SET `isbn` = '978' || substr(`isbn`, 1, 9) || ((10 - (38
		+ 3 * (substr(`isbn`, 1, 1) + substr(`isbn`, 3, 1) + substr(`isbn`, 5, 1) + substr(`isbn`, 7, 1) + substr(`isbn`, 9, 1))
		+ (substr(`isbn`, 2, 1) + substr(`isbn`, 4, 1) + substr(`isbn`, 6, 1) + substr(`isbn`, 8, 1))) % 10) % 10)
	WHERE length(`isbn`) = 10 AND NOT EXISTS (SELECT 1 FROM `books` AS `other` WHERE `other`.`isbn` = '978' || substr(`books`.`isbn`, 1, 9) || ((10 - (38
		+ 3 * (substr(`books`.`isbn`, 1, 1) + substr(`books`.`isbn`, 3, 1) + substr(`books`.`isbn`, 5, 1) + substr(`books`.`isbn`, 7, 1) + substr(`books`.`isbn`, 9, 1))
		+ (substr(`books`.`isbn`, 2, 1) + substr(`books`.`isbn`, 4, 1) + substr(`books`.`isbn`, 6, 1) + substr(`books`.`isbn`, 8, 1))) % 10) % 10));
--> statement-breakpoint
UPDATE `genres` SET `name_key` = lower(`name`) WHERE `name_key` IS NULL;
