CREATE TABLE `notice_waves` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`restock_id` integer NOT NULL,
	`book_id` integer NOT NULL,
	`wave` integer NOT NULL,
	`notified_count` integer NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`restock_id`) REFERENCES `restocks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`book_id`) REFERENCES `books`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `uq_notice_waves_restock_wave` ON `notice_waves` (`restock_id`,`wave`);--> statement-breakpoint
CREATE INDEX `idx_notice_waves_book_created` ON `notice_waves` (`book_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `books` ADD `wave_factor` integer DEFAULT 3 NOT NULL;--> statement-breakpoint
ALTER TABLE `books` ADD `wave_minutes` integer DEFAULT 60 NOT NULL;--> statement-breakpoint
CREATE INDEX `idx_books_waves` ON `books` (`id`) WHERE allocation = 'waves';