CREATE TABLE "fhir_patient_versions" (
	"id" text NOT NULL,
	"version_id" integer NOT NULL,
	"record_id" uuid NOT NULL,
	"resource" jsonb,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "fhir_patient_versions_id_version_id_pk" PRIMARY KEY("id","version_id")
);
--> statement-breakpoint
ALTER TABLE "fhir_patient_versions" ADD CONSTRAINT "fhir_patient_versions_record_id_source_records_id_fk" FOREIGN KEY ("record_id") REFERENCES "public"."source_records"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fhir_patient_versions_record_idx" ON "fhir_patient_versions" USING btree ("record_id","version_id");--> statement-breakpoint
CREATE INDEX "source_records_family_lower_idx" ON "source_records" USING btree (lower("family_name") text_pattern_ops);