-- Submission tracking: which reporter owes which form for which period (ref.reporting_calendar, the reporter
-- registry's validity dates), by when, and what arrived. One row per reporter, form and period that has ended
-- by the run's logical date:
--   on_time / late   an accepted version exists; judged by the first accepted version's submitted_at
--   rejected         files arrived but none was accepted
--   missing          nothing usable arrived and the deadline has passed
--   not_due          nothing arrived yet, the deadline has not passed
CREATE TABLE mart.submission_status AS
WITH ctx AS (SELECT CAST(as_of AS DATE) AS as_of FROM in_run_context),
expected AS (
    SELECT rep.reporter_code, rep.reporter_kind, rep.province_code, c.form_code, p.period, p.period_kind,
           p.end_date,
           -- deadline: the given day of the month that is N months after the period's last month
           make_date(year(p.end_date + INTERVAL (c.deadline_months_after) MONTH),
                     month(p.end_date + INTERVAL (c.deadline_months_after) MONTH), c.deadline_day) AS deadline
    FROM ref.reporting_calendar c
    JOIN ref.reporters rep ON rep.reporter_kind = c.reporter_kind
    JOIN ref.periods p ON p.period_kind = c.frequency
                      AND (c.periods IS NULL OR p.period LIKE '%-' || c.periods)
                      AND p.period >= c.first_period
    CROSS JOIN ctx
    WHERE p.end_date < ctx.as_of
      AND rep.valid_from <= p.end_date
      AND (rep.valid_to IS NULL OR rep.valid_to >= p.end_date)
),
received AS (
    SELECT province_code, reporter_code, form_code, period,
           count(*) AS files_received,
           count(*) FILTER (WHERE status IN ('accepted', 'accepted_with_warnings', 'superseded')) AS versions_accepted,
           min(submitted_at) FILTER (WHERE status IN ('accepted', 'accepted_with_warnings', 'superseded'))
               AS first_accepted_at,
           max(submitted_at) AS last_received_at,
           max(submission_id) FILTER (WHERE is_current) AS current_submission_id
    FROM audit.submissions
    WHERE status <> 'duplicate' AND reporter_code IS NOT NULL AND period IS NOT NULL
    GROUP BY province_code, reporter_code, form_code, period
)
SELECT e.reporter_code, e.reporter_kind, e.province_code, e.form_code, e.period, e.period_kind, e.deadline,
       CASE WHEN r.versions_accepted > 0 AND CAST(r.first_accepted_at AS DATE) <= e.deadline THEN 'on_time'
            WHEN r.versions_accepted > 0 THEN 'late'
            WHEN r.files_received > 0 THEN 'rejected'
            WHEN ctx.as_of > e.deadline THEN 'missing'
            ELSE 'not_due' END AS status,
       r.first_accepted_at AS received_at,
       CASE WHEN r.versions_accepted > 0
            THEN greatest(date_diff('day', e.deadline, CAST(r.first_accepted_at AS DATE)), 0) END AS days_late,
       coalesce(r.files_received, 0) AS files_received,
       coalesce(r.versions_accepted, 0) AS versions_accepted,
       coalesce(r.versions_accepted, 0) > 1 AS corrected,
       r.current_submission_id
FROM expected e
CROSS JOIN ctx
LEFT JOIN received r ON r.province_code = e.province_code AND r.reporter_code = e.reporter_code
                     AND r.form_code = e.form_code AND r.period = e.period
ORDER BY e.period, e.form_code, e.reporter_code;
