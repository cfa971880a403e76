-- The books' allocation invariants, enforced in the database (API.md, Pre-bookings rule 7):
-- 0 <= held_quantity <= stock_quantity, a known allocation, and hold_hours within 1–168. They are triggers
-- because SQLite adds a table CHECK only by rebuilding the table, and rebuilding `books` would cascade-
-- delete its pre-bookings, cart lines and wishlist entries. The message mimics a CHECK failure so the app
-- classifies it like one: a batch that would sell a held copy to someone else, or set the stock below what
-- is held, aborts whole.
CREATE TRIGGER `books_held_within_stock_insert` BEFORE INSERT ON `books`
WHEN NEW.`held_quantity` < 0 OR NEW.`held_quantity` > NEW.`stock_quantity`
	OR NEW.`allocation` NOT IN ('notify_all', 'hold_queue') OR NEW.`hold_hours` NOT BETWEEN 1 AND 168
BEGIN
	SELECT RAISE(ABORT, 'CHECK constraint failed: ck_books_allocation');
END;
--> statement-breakpoint
CREATE TRIGGER `books_held_within_stock_update` BEFORE UPDATE OF `held_quantity`, `stock_quantity`, `allocation`, `hold_hours` ON `books`
WHEN NEW.`held_quantity` < 0 OR NEW.`held_quantity` > NEW.`stock_quantity`
	OR NEW.`allocation` NOT IN ('notify_all', 'hold_queue') OR NEW.`hold_hours` NOT BETWEEN 1 AND 168
BEGIN
	SELECT RAISE(ABORT, 'CHECK constraint failed: ck_books_allocation');
END;
