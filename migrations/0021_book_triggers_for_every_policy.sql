-- The books' invariant triggers (0012) for every allocation policy of API.md v3 and the waves settings:
-- 0 <= held_quantity <= stock_quantity, a known allocation, hold_hours 1–168, wave_factor 1–20,
-- wave_minutes 5–1440. Same message as before, so the app classifies a violation as a CHECK failure.
DROP TRIGGER `books_held_within_stock_insert`;
--> statement-breakpoint
DROP TRIGGER `books_held_within_stock_update`;
--> statement-breakpoint
CREATE TRIGGER `books_held_within_stock_insert` BEFORE INSERT ON `books`
WHEN NEW.`held_quantity` < 0 OR NEW.`held_quantity` > NEW.`stock_quantity`
	OR NEW.`allocation` NOT IN ('notify_all', 'waves', 'hold_queue', 'lottery')
	OR NEW.`hold_hours` NOT BETWEEN 1 AND 168
	OR NEW.`wave_factor` NOT BETWEEN 1 AND 20 OR NEW.`wave_minutes` NOT BETWEEN 5 AND 1440
BEGIN
	SELECT RAISE(ABORT, 'CHECK constraint failed: ck_books_allocation');
END;
--> statement-breakpoint
CREATE TRIGGER `books_held_within_stock_update` BEFORE UPDATE OF `held_quantity`, `stock_quantity`, `allocation`, `hold_hours`, `wave_factor`, `wave_minutes` ON `books`
WHEN NEW.`held_quantity` < 0 OR NEW.`held_quantity` > NEW.`stock_quantity`
	OR NEW.`allocation` NOT IN ('notify_all', 'waves', 'hold_queue', 'lottery')
	OR NEW.`hold_hours` NOT BETWEEN 1 AND 168
	OR NEW.`wave_factor` NOT BETWEEN 1 AND 20 OR NEW.`wave_minutes` NOT BETWEEN 5 AND 1440
BEGIN
	SELECT RAISE(ABORT, 'CHECK constraint failed: ck_books_allocation');
END;
