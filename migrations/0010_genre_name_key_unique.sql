DROP INDEX `uq_genres_name`;--> statement-breakpoint
CREATE UNIQUE INDEX `uq_genres_name_key` ON `genres` (`name_key`);