DROP INDEX `idx_pre_bookings_restock_notice`;--> statement-breakpoint
DROP INDEX `idx_pre_bookings_offer_round_user`;--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_restock_notice` ON `pre_bookings` (`restock_id`,`notified_at`,`user_id`,`work_id`) WHERE restock_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_offer_round_user` ON `pre_bookings` (`offer_round_id`,`user_id`,`work_id`) WHERE offer_round_id IS NOT NULL;