CREATE TABLE `rollout_machines` (
	`rollout_id` text NOT NULL,
	`machine_id` text NOT NULL,
	`position` integer NOT NULL,
	`state` text NOT NULL,
	`address` text NOT NULL,
	`from_version` text,
	`to_version` text NOT NULL,
	`node_operation_id` text,
	`phase` text,
	`error` text,
	`error_code` text,
	`started_at` integer,
	`finished_at` integer,
	PRIMARY KEY(`rollout_id`, `machine_id`),
	FOREIGN KEY (`rollout_id`) REFERENCES `rollouts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `rollout_machines_machine` ON `rollout_machines` (`machine_id`);--> statement-breakpoint
CREATE TABLE `rollouts` (
	`id` text PRIMARY KEY NOT NULL,
	`selector` text NOT NULL,
	`image_name` text NOT NULL,
	`image_version` text NOT NULL,
	`max_parallel` integer NOT NULL,
	`health_timeout_s` integer NOT NULL,
	`force` integer NOT NULL,
	`state` text NOT NULL,
	`phase` text NOT NULL,
	`error` text,
	`error_code` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rollouts_created` ON `rollouts` (`created_at`);--> statement-breakpoint
CREATE INDEX `rollouts_state` ON `rollouts` (`state`);