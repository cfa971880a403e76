ALTER TABLE `email_tokens` ADD `claim_password_hash` text;--> statement-breakpoint
ALTER TABLE `email_tokens` ADD `claim_full_name` text;