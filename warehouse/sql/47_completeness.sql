-- Completeness of the published figures: which reports each figure is owed (ref.reporting_calendar, the
-- reporters' validity, the forms feeding the indicator: ref.indicator_forms) and which of them are missing at
-- the run's logical date. A figure is
--   complete     every report it is owed was accepted;
--   incomplete   a report it is owed is past its deadline and nothing was accepted (the figure is short);
--   provisional  its period is not over at the logical date, or a report it is owed is not yet due.
-- The marts (50_mart.sql) carry the verdict with the reporters missing and a note in Vietnamese and English.
CREATE TABLE ref.indicator_forms AS
SELECT indicator_code, form_code, CAST(last_month_only AS BOOLEAN) AS last_month_only FROM in_indicator_forms;

-- Every report owed, of every period (over or not), with what became of it at the logical date.
CREATE TABLE core.owed_reports AS
WITH ctx AS (SELECT CAST(as_of AS DATE) AS as_of FROM in_run_context),
owed AS (
    SELECT rep.reporter_code, rep.reporter_kind, rep.province_code, rep.district_code,
           rep.name_vi AS reporter_name_vi, rep.name_en AS reporter_name_en, c.form_code,
           p.period AS reported_period, p.period_kind, p.year, p.number, p.end_date,
           make_date(year(p.end_date + INTERVAL (c.deadline_months_after) MONTH),
                     month(p.end_date + INTERVAL (c.deadline_months_after) MONTH), c.deadline_day) AS deadline
    FROM ref.reporting_calendar c
    JOIN ref.reporters rep ON rep.reporter_kind = c.reporter_kind
    JOIN ref.periods p ON p.period_kind = c.frequency
                      AND (c.periods IS NULL OR p.period LIKE '%-' || c.periods)
                      AND p.period >= c.first_period
    WHERE rep.valid_from <= p.end_date AND (rep.valid_to IS NULL OR rep.valid_to >= p.end_date)
),
accepted AS (
    SELECT DISTINCT province_code, reporter_code, form_code, period FROM audit.submissions WHERE is_current
)
SELECT o.*,
       CASE WHEN a.period IS NOT NULL THEN 'received'
            WHEN o.end_date >= ctx.as_of THEN 'not_over'
            WHEN ctx.as_of <= o.deadline THEN 'not_due'
            ELSE 'missing' END AS state,
       -- how the report is named in a note: "tháng 12/2020", "6 tháng đầu năm 2020", "năm 2020"
       CASE o.period_kind WHEN 'month' THEN 'tháng ' || o.number || '/' || o.year
                          WHEN 'quarter' THEN 'quý ' || o.number || '/' || o.year
                          WHEN 'half' THEN '6 tháng ' || CASE o.number WHEN 1 THEN 'đầu' ELSE 'cuối' END
                                           || ' năm ' || o.year
                          ELSE 'năm ' || o.year END AS period_label_vi
FROM owed o
CROSS JOIN ctx
LEFT JOIN accepted a ON a.province_code = o.province_code AND a.reporter_code = o.reporter_code
                    AND a.form_code = o.form_code AND a.period = o.reported_period;

-- The reports not (yet) accepted behind each indicator and published period, one row per reporter, with what
-- it lacks in words. Stocks (and what is derived from stocks only) owe only the period's last month.
CREATE TABLE core.figure_gaps AS
WITH gaps AS (
    SELECT f.indicator_code, r.period, o.province_code, o.reporter_code, o.reporter_kind, o.district_code,
           any_value(o.reporter_name_vi) AS reporter_name_vi, any_value(o.reporter_name_en) AS reporter_name_en,
           any_value(o.form_code) AS form_code,
           bool_or(o.state = 'missing') AS has_missing,
           bool_or(o.state IN ('not_due', 'not_over')) AS has_pending,
           string_agg(o.period_label_vi, ', ' ORDER BY o.reported_period) FILTER (WHERE o.state = 'missing')
               AS missing_vi,
           string_agg(o.reported_period, ', ' ORDER BY o.reported_period) FILTER (WHERE o.state = 'missing')
               AS missing_en,
           string_agg(o.period_label_vi, ', ' ORDER BY o.reported_period) FILTER (WHERE o.state = 'not_due')
               AS not_due_vi,
           string_agg(o.reported_period, ', ' ORDER BY o.reported_period) FILTER (WHERE o.state = 'not_due')
               AS not_due_en
    FROM ref.indicator_forms f
    JOIN core.owed_reports o ON o.form_code = f.form_code AND o.state <> 'received'
    JOIN ref.period_rollups r ON r.reported_period = o.reported_period
                             AND (r.is_last_part OR NOT f.last_month_only)
    -- only figures that exist: years nobody has reported yet publish nothing to qualify
    JOIN (SELECT DISTINCT indicator_code, period, province_code FROM core.fct_province_periods) pub
      ON pub.indicator_code = f.indicator_code AND pub.period = r.period AND pub.province_code = o.province_code
    GROUP BY f.indicator_code, r.period, o.province_code, o.reporter_code, o.reporter_kind, o.district_code
)
SELECT indicator_code, period, province_code, reporter_code, reporter_kind, district_code, has_missing,
       has_pending,
       concat_ws('; ', 'thiếu báo cáo ' || missing_vi || ' của ' || reporter_name_vi,
                 'chưa đến hạn báo cáo ' || not_due_vi || ' của ' || reporter_name_vi) AS note_vi,
       concat_ws('; ', form_code || ' ' || missing_en || ' of ' || reporter_name_en || ' missing',
                 form_code || ' ' || not_due_en || ' of ' || reporter_name_en || ' not yet due') AS note_en
FROM gaps;

-- The verdict for one figure: its period's end against the logical date, and the gaps behind it.
CREATE TEMP MACRO completeness_of(end_date, any_missing, any_pending) AS
    CASE WHEN end_date >= (SELECT CAST(as_of AS DATE) FROM in_run_context) THEN 'provisional'
         WHEN coalesce(any_missing, false) THEN 'incomplete'
         WHEN coalesce(any_pending, false) THEN 'provisional'
         ELSE 'complete' END;

-- The note printed beside a figure that is not complete.
CREATE TEMP MACRO completeness_note_vi(end_date, gaps) AS
    nullif(concat_ws('; ', CASE WHEN end_date >= (SELECT CAST(as_of AS DATE) FROM in_run_context)
                                THEN 'kỳ báo cáo chưa kết thúc' END, nullif(gaps, '')), '');
CREATE TEMP MACRO completeness_note_en(end_date, gaps) AS
    nullif(concat_ws('; ', CASE WHEN end_date >= (SELECT CAST(as_of AS DATE) FROM in_run_context)
                                THEN 'the period is not over' END, nullif(gaps, '')), '');
