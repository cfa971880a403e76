DROP INDEX `idx_pre_bookings_book_offered`;--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_book_offered` ON `pre_bookings` (`book_id`,`hold_expires_at`) WHERE status = 'offered';