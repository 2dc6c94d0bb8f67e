CREATE TYPE "public"."model_event_type" AS ENUM('TRAINED', 'EVALUATED', 'ACTIVATED', 'REJECTED');--> statement-breakpoint
CREATE TABLE "match_model_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"version" text NOT NULL,
	"type" "model_event_type" NOT NULL,
	"actor" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "match_model_events_version_idx" ON "match_model_events" USING btree ("version");--> statement-breakpoint
CREATE INDEX "match_model_events_type_idx" ON "match_model_events" USING btree ("type","id");