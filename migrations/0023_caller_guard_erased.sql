-- Erasure (API.md, Privacy): accounts erased before `erased_at` existed are known by the password marker the
-- erasure always wrote. An erased row is never made active or admin again (src/features/users).
UPDATE `users` SET `erased_at` = `updated_at` WHERE `password_hash` = '!erased' AND `erased_at` IS NULL;
--> statement-breakpoint
-- The caller guard (0007) again, with one change: an erased account's tokens are invalid (401
-- AUTH_INVALID_TOKEN, as for an account that does not exist), not those of a deactivated account (403).
DROP TRIGGER `caller_guard_check`;
--> statement-breakpoint
CREATE TRIGGER `caller_guard_check` INSTEAD OF INSERT ON `caller_guard`
BEGIN
	SELECT RAISE(ABORT, 'caller_guard:AUTH_INVALID_TOKEN')
		WHERE NOT EXISTS (SELECT 1 FROM `users` WHERE `id` = NEW.`user_id` AND `erased_at` IS NULL);
	SELECT RAISE(ABORT, 'caller_guard:AUTH_ACCOUNT_DEACTIVATED')
		WHERE EXISTS (SELECT 1 FROM `users` WHERE `id` = NEW.`user_id` AND `is_active` = 0);
	SELECT RAISE(ABORT, 'caller_guard:AUTH_INVALID_TOKEN')
		WHERE EXISTS (SELECT 1 FROM `users` WHERE `id` = NEW.`user_id` AND `token_version` <> NEW.`token_version`);
	SELECT RAISE(ABORT, 'caller_guard:AUTH_FORBIDDEN')
		WHERE NEW.`role` = 'admin' AND EXISTS (SELECT 1 FROM `users` WHERE `id` = NEW.`user_id` AND `role` <> 'admin');
END;
