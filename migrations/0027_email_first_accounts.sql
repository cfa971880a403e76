ALTER TABLE `email_tokens` DROP COLUMN `claim_password_hash`;--> statement-breakpoint
ALTER TABLE `email_tokens` DROP COLUMN `claim_full_name`;