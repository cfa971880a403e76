CREATE INDEX `idx_login_attempts_time` ON `login_attempts` (`attempted_at`);--> statement-breakpoint
CREATE INDEX `idx_refresh_tokens_expires` ON `refresh_tokens` (`expires_at`);