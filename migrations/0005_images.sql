CREATE TABLE `images` (
	`name` text NOT NULL,
	`version` text NOT NULL,
	`manifest` text NOT NULL,
	`signature` text NOT NULL,
	`key_id` text NOT NULL,
	`state` text NOT NULL,
	`file` text NOT NULL,
	`compressed_size` integer NOT NULL,
	`size` integer NOT NULL,
	`imported_at` integer NOT NULL,
	`ready_at` integer,
	PRIMARY KEY(`name`, `version`)
);
