-- Audit: every file received with its fate, every issue with its cell, every run.
-- A newer accepted file for the same reporter, form and period supersedes the older one; both stay here.
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE audit.submissions AS
WITH ranked AS (
    SELECT s.*,
           CASE WHEN s.intake_status IN ('accepted', 'accepted_with_warnings')
                THEN row_number() OVER (
                    PARTITION BY s.province_code, s.reporter_code, s.form_code, s.period,
                                 s.intake_status IN ('accepted', 'accepted_with_warnings')
                    ORDER BY s.seq DESC)
           END AS acceptance_rank,
           first_value(s.submission_id) OVER (
               PARTITION BY s.province_code, s.reporter_code, s.form_code, s.period,
                            s.intake_status IN ('accepted', 'accepted_with_warnings')
               ORDER BY s.seq DESC) AS newest_id
    FROM staging.stg_submissions s
)
SELECT submission_id, sha256, original_name, r.relative_path, size_bytes, received_at, file_modified_at,
       -- when it reached the department: the day an operator recorded in the receipt register (at noon,
       -- Vietnam time), else intake's first sighting; never the file's modification time (tasks/receipts.py)
       coalesce(CAST(rc.received_on || ' 12:00:00+07' AS TIMESTAMPTZ), received_at) AS submitted_at, archive_path,
       template_id, form_code, template_version, r.province_code, r.reporter_code, rep.reporter_kind, period,
       prepared_by, prepared_on,
       CASE WHEN acceptance_rank > 1 THEN 'superseded' ELSE intake_status END AS status,
       acceptance_rank = 1 AS is_current,
       CASE WHEN acceptance_rank > 1
            THEN 'Đã có bản gửi mới hơn cho cùng đơn vị và kỳ báo cáo (' || newest_id || ')'
            ELSE reason_vi END AS reason_vi,
       CASE WHEN acceptance_rank > 1
            THEN 'A newer submission for the same reporter and period replaced this one (' || newest_id || ')'
            ELSE reason_en END AS reason_en,
       CASE WHEN acceptance_rank > 1 THEN newest_id END AS superseded_by,
       duplicate_of,
       intake_status
FROM ranked r
LEFT JOIN (SELECT relative_path, max(received_on) AS received_on FROM in_receipts GROUP BY relative_path) rc
       ON rc.relative_path = r.relative_path
LEFT JOIN ref.reporters rep ON rep.reporter_code = r.reporter_code AND rep.province_code = r.province_code
ORDER BY seq;

CREATE TABLE audit.validation_issues AS
SELECT i.submission_id, s.original_name, s.reporter_code, s.period, i.sheet, i.cell, i."column" AS column_label,
       i.value AS value_found, i.rule, i.severity, i.message_vi, i.message_en
FROM in_issues i
LEFT JOIN staging.stg_submissions s USING (submission_id)
ORDER BY s.seq, i.sheet, length(i.cell), i.cell;

CREATE TABLE audit.runs AS
SELECT run_id, flow_run_id, kind, CAST(started_at AS TIMESTAMPTZ) AS started_at,
       CAST(finished_at AS TIMESTAMPTZ) AS finished_at, status,
       CAST(files_new AS INTEGER) AS files_new, CAST(files_total AS INTEGER) AS files_total,
       CAST(accepted AS INTEGER) AS accepted, CAST(rejected AS INTEGER) AS rejected,
       CAST(duplicates AS INTEGER) AS duplicates, ictstat_version, note
FROM in_runs
ORDER BY started_at;
