CREATE TABLE `agent_sessions` (
	`credential_hash` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`machine_id` text NOT NULL,
	`peer_ip` text,
	`issued_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `agent_sessions_machine` ON `agent_sessions` (`machine_id`);--> statement-breakpoint
ALTER TABLE `agent_tokens` ADD `peer_ip` text;--> statement-breakpoint
ALTER TABLE `machines` ADD `held_state` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `session_id` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `cancel_requested_at` integer;--> statement-breakpoint
CREATE INDEX `events_at` ON `events` (`at`);