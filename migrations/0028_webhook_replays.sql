CREATE TABLE `webhook_replays` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`endpoint_id` integer NOT NULL,
	`types` text NOT NULL,
	`since` text NOT NULL,
	`until` text NOT NULL,
	`after_event_id` integer NOT NULL,
	`last_event_id` integer NOT NULL,
	`queued` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`finished_at` text,
	FOREIGN KEY (`endpoint_id`) REFERENCES `webhook_endpoints`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `idx_webhook_replays_active` ON `webhook_replays` (`endpoint_id`,`id`) WHERE finished_at IS NULL;--> statement-breakpoint
CREATE INDEX `idx_webhook_replays_finished` ON `webhook_replays` (`finished_at`);