-- Staging: what the parser produced this run, typed, one row per file received and per parsed cell.
CREATE SCHEMA IF NOT EXISTS staging;

CREATE TABLE staging.stg_submissions AS
SELECT submission_id, CAST(seq AS BIGINT) AS seq, sha256, original_name, relative_path,
       CAST(size_bytes AS BIGINT) AS size_bytes, CAST(received_at AS TIMESTAMPTZ) AS received_at,
       CAST(file_modified_at AS TIMESTAMPTZ) AS file_modified_at,
       archive_path, template_id, form_code, CAST(template_version AS INTEGER) AS template_version,
       province_code, reporter_code, period, prepared_by, prepared_on, intake_status, reason_vi, reason_en, duplicate_of
FROM in_submissions;

CREATE TABLE staging.stg_reported_values AS
SELECT submission_id, template_id, sheet, sheet_spec, cell, CAST(excel_row AS INTEGER) AS excel_row,
       district_code, commune_code, measure, indicator_code, unit, raw_value, CAST(value AS DOUBLE) AS value, qualifier
FROM in_values;
