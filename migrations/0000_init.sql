CREATE TYPE "public"."identity_event_type" AS ENUM('CREATED', 'LINKED', 'UNLINKED', 'MERGED', 'SPLIT', 'NOT_DUPLICATE', 'GOLDEN_CHANGED', 'REVIEW_DECIDED', 'RECORD_UPDATED', 'RECORD_DELETED');--> statement-breakpoint
CREATE TYPE "public"."identity_status" AS ENUM('ACTIVE', 'MERGED');--> statement-breakpoint
CREATE TYPE "public"."link_source" AS ENUM('AUTO', 'MANUAL');--> statement-breakpoint
CREATE TYPE "public"."match_result" AS ENUM('MATCH', 'POSSIBLE_MATCH', 'NO_MATCH');--> statement-breakpoint
CREATE TYPE "public"."review_kind" AS ENUM('RECORD_MATCH', 'POSSIBLE_DUPLICATE');--> statement-breakpoint
CREATE TYPE "public"."review_status" AS ENUM('OPEN', 'RESOLVED');--> statement-breakpoint
CREATE TYPE "public"."phi_class" AS ENUM('DIRECT_IDENTIFIER', 'QUASI_IDENTIFIER', 'NONE');--> statement-breakpoint
CREATE TYPE "public"."quality_scope_kind" AS ENUM('INDEX', 'SOURCE', 'FIELD');--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"channel" text NOT NULL,
	"payload" text NOT NULL,
	"reason" text NOT NULL,
	"status" text DEFAULT 'OPEN' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "identities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"status" "identity_status" DEFAULT 'ACTIVE' NOT NULL,
	"merged_into" uuid,
	"golden" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "identity_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"identity_id" uuid NOT NULL,
	"type" "identity_event_type" NOT NULL,
	"record_id" uuid,
	"other_identity_id" uuid,
	"actor" text NOT NULL,
	"reason" text,
	"model_version" text,
	"evidence" jsonb,
	"before" jsonb,
	"after" jsonb,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ingest_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source_id" uuid,
	"job" text NOT NULL,
	"status" text DEFAULT 'RUNNING' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"facets" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "links" (
	"record_id" uuid PRIMARY KEY NOT NULL,
	"identity_id" uuid NOT NULL,
	"match_result" "match_result" NOT NULL,
	"link_source" "link_source" NOT NULL,
	"weight" double precision,
	"probability" double precision,
	"model_version" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "match_models" (
	"version" text PRIMARY KEY NOT NULL,
	"spec" jsonb NOT NULL,
	"summary" jsonb,
	"active" boolean DEFAULT false NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "not_duplicates" (
	"identity_a" uuid NOT NULL,
	"identity_b" uuid NOT NULL,
	"reason" text,
	"actor" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "not_duplicates_identity_a_identity_b_pk" PRIMARY KEY("identity_a","identity_b")
);
--> statement-breakpoint
CREATE TABLE "record_block_keys" (
	"key" text NOT NULL,
	"record_id" uuid NOT NULL,
	CONSTRAINT "record_block_keys_key_record_id_pk" PRIMARY KEY("key","record_id")
);
--> statement-breakpoint
CREATE TABLE "review_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" "review_kind" NOT NULL,
	"status" "review_status" DEFAULT 'OPEN' NOT NULL,
	"record_id" uuid,
	"identity_a" uuid NOT NULL,
	"identity_b" uuid,
	"probability" double precision NOT NULL,
	"weight" double precision NOT NULL,
	"priority" double precision NOT NULL,
	"explanation" jsonb NOT NULL,
	"model_version" text,
	"decision" text,
	"reason" text,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "source_records" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source_id" uuid NOT NULL,
	"local_id" text NOT NULL,
	"given_name" text,
	"middle_name" text,
	"family_name" text,
	"suffix" text,
	"sex" text,
	"birth_date" text,
	"ssn" text,
	"phone" text,
	"email" text,
	"address_line1" text,
	"address_line2" text,
	"city" text,
	"state" text,
	"postal_code" text,
	"raw" jsonb NOT NULL,
	"normalised" jsonb NOT NULL,
	"normaliser_version" text NOT NULL,
	"content_hash" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"ingest_run_id" uuid,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sources" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"kind" text DEFAULT 'OTHER' NOT NULL,
	"trust_rank" integer DEFAULT 50 NOT NULL,
	"owner" text,
	"steward" text,
	"contact" text,
	"description" text,
	"system" text,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sources_code_unique" UNIQUE("code"),
	CONSTRAINT "sources_system_unique" UNIQUE("system")
);
--> statement-breakpoint
CREATE TABLE "field_provenance" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"identity_id" uuid NOT NULL,
	"field" text NOT NULL,
	"value" text,
	"record_id" uuid,
	"source_id" uuid,
	"rule" text NOT NULL,
	"policy_version" integer NOT NULL,
	"competitors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"ingest_run_id" uuid,
	"valid_from" timestamp with time zone DEFAULT now() NOT NULL,
	"valid_to" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "survivorship_policies" (
	"version" integer PRIMARY KEY NOT NULL,
	"rules" jsonb NOT NULL,
	"active" boolean DEFAULT false NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "catalog_datasets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"owner" text,
	"tags" text[] DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "catalog_fields" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"name" text NOT NULL,
	"data_type" text DEFAULT 'string' NOT NULL,
	"description" text,
	"phi_class" "phi_class" DEFAULT 'NONE' NOT NULL,
	"golden_field" text,
	"glossary_terms" text[] DEFAULT '{}' NOT NULL,
	"tags" text[] DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "glossary_terms" (
	"term" text PRIMARY KEY NOT NULL,
	"definition" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quality_measurements" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"metric" text NOT NULL,
	"scope_kind" "quality_scope_kind" NOT NULL,
	"scope" text NOT NULL,
	"value" double precision NOT NULL,
	"numerator" double precision,
	"denominator" double precision,
	"threshold" double precision,
	"breached" boolean DEFAULT false NOT NULL,
	"measured_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quality_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"status" text DEFAULT 'RUNNING' NOT NULL,
	"trigger" text DEFAULT 'MANUAL' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"role" text NOT NULL,
	"action" text NOT NULL,
	"object_type" text,
	"object_ids" text[] DEFAULT '{}' NOT NULL,
	"fields" text[] DEFAULT '{}' NOT NULL,
	"outcome" text NOT NULL,
	"request_id" text,
	"client_address" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ingest_runs" ADD CONSTRAINT "ingest_runs_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "links" ADD CONSTRAINT "links_record_id_source_records_id_fk" FOREIGN KEY ("record_id") REFERENCES "public"."source_records"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "links" ADD CONSTRAINT "links_identity_id_identities_id_fk" FOREIGN KEY ("identity_id") REFERENCES "public"."identities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "not_duplicates" ADD CONSTRAINT "not_duplicates_identity_a_identities_id_fk" FOREIGN KEY ("identity_a") REFERENCES "public"."identities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "not_duplicates" ADD CONSTRAINT "not_duplicates_identity_b_identities_id_fk" FOREIGN KEY ("identity_b") REFERENCES "public"."identities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "record_block_keys" ADD CONSTRAINT "record_block_keys_record_id_source_records_id_fk" FOREIGN KEY ("record_id") REFERENCES "public"."source_records"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_record_id_source_records_id_fk" FOREIGN KEY ("record_id") REFERENCES "public"."source_records"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_identity_a_identities_id_fk" FOREIGN KEY ("identity_a") REFERENCES "public"."identities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_identity_b_identities_id_fk" FOREIGN KEY ("identity_b") REFERENCES "public"."identities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "source_records" ADD CONSTRAINT "source_records_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "source_records" ADD CONSTRAINT "source_records_ingest_run_id_ingest_runs_id_fk" FOREIGN KEY ("ingest_run_id") REFERENCES "public"."ingest_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_datasets" ADD CONSTRAINT "catalog_datasets_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_fields" ADD CONSTRAINT "catalog_fields_dataset_id_catalog_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."catalog_datasets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quality_measurements" ADD CONSTRAINT "quality_measurements_run_id_quality_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."quality_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "identities_merged_into_idx" ON "identities" USING btree ("merged_into");--> statement-breakpoint
CREATE INDEX "identity_events_identity_idx" ON "identity_events" USING btree ("identity_id","at");--> statement-breakpoint
CREATE INDEX "identity_events_at_idx" ON "identity_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "ingest_runs_started_idx" ON "ingest_runs" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "links_identity_idx" ON "links" USING btree ("identity_id");--> statement-breakpoint
CREATE UNIQUE INDEX "match_models_one_active_uq" ON "match_models" USING btree ("active") WHERE "match_models"."active";--> statement-breakpoint
CREATE INDEX "not_duplicates_b_idx" ON "not_duplicates" USING btree ("identity_b");--> statement-breakpoint
CREATE INDEX "record_block_keys_record_idx" ON "record_block_keys" USING btree ("record_id");--> statement-breakpoint
CREATE INDEX "review_items_open_idx" ON "review_items" USING btree ("status","priority");--> statement-breakpoint
CREATE INDEX "review_items_record_idx" ON "review_items" USING btree ("record_id");--> statement-breakpoint
CREATE UNIQUE INDEX "source_records_source_local_uq" ON "source_records" USING btree ("source_id","local_id");--> statement-breakpoint
CREATE INDEX "source_records_family_idx" ON "source_records" USING btree ("family_name");--> statement-breakpoint
CREATE INDEX "source_records_birth_idx" ON "source_records" USING btree ("birth_date");--> statement-breakpoint
CREATE INDEX "field_provenance_identity_idx" ON "field_provenance" USING btree ("identity_id","field","valid_from");--> statement-breakpoint
CREATE INDEX "field_provenance_record_idx" ON "field_provenance" USING btree ("record_id");--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_datasets_source_name_uq" ON "catalog_datasets" USING btree ("source_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_fields_dataset_name_uq" ON "catalog_fields" USING btree ("dataset_id","name");--> statement-breakpoint
CREATE INDEX "quality_measurements_metric_idx" ON "quality_measurements" USING btree ("metric","scope","measured_at");--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "audit_log" USING btree ("actor","at");