-- What was published when. archive/ledger/publications.jsonl keeps, for every publication, the province
-- figures that changed (a removed figure has a NULL value); this build adds its own changes as the newest
-- entry. From that log: every version of every figure, the figures as published on any date, and the
-- restatements (a figure whose published value changed) with the submissions that arrived in between.
CREATE TABLE audit.publication_log AS
WITH ctx AS (SELECT run_id, CAST(published_at AS TIMESTAMPTZ) AS published_at FROM in_run_context),
history AS (
    SELECT run_id, CAST(published_at AS TIMESTAMPTZ) AS published_at, indicator_code, period, province_code,
           CAST(value AS DOUBLE) AS value
    FROM in_publication_log
),
last_state AS (
    SELECT indicator_code, period, province_code, value FROM history
    QUALIFY row_number() OVER (PARTITION BY indicator_code, period, province_code ORDER BY published_at DESC) = 1
),
changes AS (
    SELECT ctx.run_id, ctx.published_at,
           coalesce(c.indicator_code, l.indicator_code) AS indicator_code,
           coalesce(c.period, l.period) AS period,
           coalesce(c.province_code, l.province_code) AS province_code,
           c.value
    FROM mart.province_indicators c
    FULL OUTER JOIN last_state l USING (indicator_code, period, province_code)
    CROSS JOIN ctx
    WHERE c.value IS DISTINCT FROM l.value
)
SELECT * FROM history
UNION ALL
SELECT * FROM changes
ORDER BY published_at, indicator_code, period;

CREATE TABLE mart.province_indicator_versions AS
SELECT indicator_code, period, province_code, value, run_id, published_at AS valid_from,
       lead(published_at) OVER w AS valid_to,
       lag(value) OVER w AS previous_value
FROM audit.publication_log
WINDOW w AS (PARTITION BY indicator_code, period, province_code ORDER BY published_at)
ORDER BY indicator_code, period, valid_from;

-- SELECT * FROM mart.province_indicators_as_of(TIMESTAMPTZ '2021-03-20 00:00:00+07')
CREATE MACRO mart.province_indicators_as_of(as_of) AS TABLE
    SELECT indicator_code, period, province_code, value, valid_from AS published_at, run_id
    FROM mart.province_indicator_versions
    WHERE valid_from <= as_of AND (valid_to IS NULL OR valid_to > as_of) AND value IS NOT NULL
    ORDER BY indicator_code, period;

-- The submissions listed with a restatement: those of the figure's province and period (a month, or any month
-- of a quarter, half or year) that arrived after its previous version was published and by the new one.
CREATE TABLE mart.restatements AS
WITH versions AS (
    SELECT *, lag(valid_from) OVER (PARTITION BY indicator_code, period, province_code ORDER BY valid_from)
                  AS previous_from
    FROM mart.province_indicator_versions
),
restated AS (
    SELECT * FROM versions WHERE previous_value IS NOT NULL AND value IS DISTINCT FROM previous_value
),
arrived AS (
    SELECT v.indicator_code, v.period, v.province_code, v.valid_from,
           string_agg(s.submission_id || ' ' || s.original_name, '; ' ORDER BY s.submission_id) AS submissions
    FROM restated v
    JOIN ref.period_rollups r ON r.period = v.period
    JOIN audit.submissions s ON s.period = r.reported_period AND s.province_code = v.province_code
    WHERE s.status IN ('accepted', 'accepted_with_warnings', 'superseded')
      AND s.received_at > coalesce(v.previous_from, TIMESTAMPTZ '1970-01-01 00:00:00+00')
      AND s.received_at <= v.valid_from
    GROUP BY v.indicator_code, v.period, v.province_code, v.valid_from
)
SELECT v.indicator_code, v.period, v.province_code, v.previous_value AS old_value, v.value AS new_value,
       round(v.value - v.previous_value, 6) AS change, v.valid_from AS restated_at, v.run_id, a.submissions
FROM restated v
LEFT JOIN arrived a USING (indicator_code, period, province_code, valid_from)
ORDER BY v.valid_from, v.indicator_code, v.period;
