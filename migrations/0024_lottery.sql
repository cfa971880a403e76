CREATE TABLE `draw_entries` (
	`draw_id` integer NOT NULL,
	`prebook_id` integer NOT NULL,
	`score` text,
	`won` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`draw_id`) REFERENCES `draws`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`prebook_id`) REFERENCES `pre_bookings`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `uq_draw_entries_draw_prebook` ON `draw_entries` (`draw_id`,`prebook_id`);--> statement-breakpoint
CREATE INDEX `idx_draw_entries_draw_score` ON `draw_entries` (`draw_id`,`score`);--> statement-breakpoint
CREATE INDEX `idx_draw_entries_prebook` ON `draw_entries` (`prebook_id`,`draw_id`);--> statement-breakpoint
CREATE TABLE `draws` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`book_id` integer NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`seed` text NOT NULL,
	`seed_commitment` text NOT NULL,
	`copies` integer DEFAULT 0 NOT NULL,
	`entries` integer DEFAULT 0 NOT NULL,
	`opened_at` text NOT NULL,
	`closing_at` text,
	`closed_at` text,
	FOREIGN KEY (`book_id`) REFERENCES `books`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `uq_draws_book_open` ON `draws` (`book_id`) WHERE status = 'open';--> statement-breakpoint
CREATE INDEX `idx_draws_book` ON `draws` (`book_id`,`id`);--> statement-breakpoint
CREATE INDEX `idx_draws_closing` ON `draws` (`book_id`) WHERE status = 'closing';--> statement-breakpoint
CREATE INDEX `idx_books_lottery` ON `books` (`id`) WHERE allocation = 'lottery';