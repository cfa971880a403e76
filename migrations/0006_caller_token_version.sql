ALTER TABLE `users` ADD `token_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `idx_users_active_admins` ON `users` (`id`) WHERE role = 'admin' AND is_active = 1;