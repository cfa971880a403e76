ALTER TABLE `users` ADD `locale` text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `time_zone` text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `utc_offset_minutes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `idx_users_time_zone` ON `users` (`time_zone`,`utc_offset_minutes`);