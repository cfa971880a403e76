DROP INDEX `idx_pre_bookings_restock`;--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_restock_user` ON `pre_bookings` (`restock_id`,`user_id`);