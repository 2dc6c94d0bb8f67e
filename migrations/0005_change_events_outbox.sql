CREATE SEQUENCE "public"."change_event_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "change_events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"position" bigint,
	"id" uuid NOT NULL,
	"type" text NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"actor" text NOT NULL,
	"identity_id" uuid,
	"record_id" uuid,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"versions" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_consumers" (
	"name" text PRIMARY KEY NOT NULL,
	"position" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"position" bigint NOT NULL,
	"attempts" integer NOT NULL,
	"last_status" integer,
	"last_error" text,
	"status" text DEFAULT 'DEAD' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"redelivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text DEFAULT 'STANDARD' NOT NULL,
	"url" text NOT NULL,
	"description" text,
	"event_types" text[] DEFAULT '{}' NOT NULL,
	"demographics_role" text,
	"secret" text NOT NULL,
	"fhir" jsonb,
	"status" text DEFAULT 'ACTIVE' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"position" bigint DEFAULT 0 NOT NULL,
	"head_attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"delivered" bigint DEFAULT 0 NOT NULL,
	"last_delivered_at" timestamp with time zone,
	"last_status" integer,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "webhook_dead_letters" ADD CONSTRAINT "webhook_dead_letters_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "change_events_id_uq" ON "change_events" USING btree ("id");--> statement-breakpoint
CREATE UNIQUE INDEX "change_events_position_uq" ON "change_events" USING btree ("position");--> statement-breakpoint
CREATE INDEX "change_events_unpublished_idx" ON "change_events" USING btree ("seq") WHERE "change_events"."position" is null;--> statement-breakpoint
CREATE INDEX "change_events_identity_idx" ON "change_events" USING btree ("identity_id","position");--> statement-breakpoint
CREATE INDEX "change_events_occurred_idx" ON "change_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "webhook_dead_letters_endpoint_idx" ON "webhook_dead_letters" USING btree ("endpoint_id","status","position");