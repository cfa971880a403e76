-- The caller guard: the head statement of every batch an authenticated request runs (src/lib/db.ts).
-- Inserting into the view checks, inside the request's own transaction, that the caller still exists, is
-- active, holds an unrevoked token version and (for admin routes) is still an admin. A refusal aborts the
-- whole batch, so a deactivated user's write or a demoted admin's admin write never commits. The view
-- stores nothing; only the trigger runs. Messages are `caller_guard:<error code>` (mapped to 401/403).
CREATE VIEW `caller_guard` AS SELECT 0 AS `user_id`, 0 AS `token_version`, 'user' AS `role` WHERE 0;
--> statement-breakpoint
CREATE TRIGGER `caller_guard_check` INSTEAD OF INSERT ON `caller_guard`
BEGIN
	SELECT RAISE(ABORT, 'caller_guard:AUTH_INVALID_TOKEN')
		WHERE NOT EXISTS (SELECT 1 FROM `users` WHERE `id` = NEW.`user_id`);
	SELECT RAISE(ABORT, 'caller_guard:AUTH_ACCOUNT_DEACTIVATED')
		WHERE EXISTS (SELECT 1 FROM `users` WHERE `id` = NEW.`user_id` AND `is_active` = 0);
	SELECT RAISE(ABORT, 'caller_guard:AUTH_INVALID_TOKEN')
		WHERE EXISTS (SELECT 1 FROM `users` WHERE `id` = NEW.`user_id` AND `token_version` <> NEW.`token_version`);
	SELECT RAISE(ABORT, 'caller_guard:AUTH_FORBIDDEN')
		WHERE NEW.`role` = 'admin' AND EXISTS (SELECT 1 FROM `users` WHERE `id` = NEW.`user_id` AND `role` <> 'admin');
END;
