-- The allocation guard (src/db/schema.ts `allocationGuard`; src/features/allocation/engine.ts
-- `withBookPolicy`): a view that stores nothing. Inserting (book_id, allocation) aborts the transaction when
-- the book follows another policy, naming it, so a batch that carries only the statements of the policy
-- its book was expected to follow never commits for a book switched meanwhile. A book that does not exist
-- passes (there is nothing to allocate). Self-contained: it needs only `books`.
CREATE VIEW `allocation_guard` AS SELECT NULL AS `book_id`, NULL AS `allocation` WHERE 0;
--> statement-breakpoint
CREATE TRIGGER `allocation_guard_check` INSTEAD OF INSERT ON `allocation_guard`
BEGIN
	SELECT CASE `b`.`allocation`
			WHEN 'notify_all' THEN RAISE(ABORT, 'allocation_guard:notify_all')
			WHEN 'waves' THEN RAISE(ABORT, 'allocation_guard:waves')
			WHEN 'hold_queue' THEN RAISE(ABORT, 'allocation_guard:hold_queue')
			WHEN 'lottery' THEN RAISE(ABORT, 'allocation_guard:lottery')
			ELSE RAISE(ABORT, 'allocation_guard:other')
		END
	FROM `books` AS `b`
	WHERE `b`.`id` = NEW.`book_id` AND `b`.`allocation` IS NOT NEW.`allocation`;
END;
