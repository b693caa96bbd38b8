-- Target tracking: every target of the 2021-2025 plan with the latest actual value where an indicator
-- measures it, the gap to the target and a status:
--   met        the target year has passed (or is the latest year) and the actual satisfies the target;
--   on track   the target year is ahead and the actual already satisfies it, or last year's trend reaches it;
--   off track  the target year has passed without meeting it, or the trend does not reach it;
--   no data    no indicator measures it, or no actual value exists yet;
--   unreconciled  the actual figure fails a reconciliation rule of its year (mart.reconciliation): no
--              verdict rests on a figure that contradicts the report's other figures.
CREATE TABLE mart.target_tracking AS
WITH years AS (
    SELECT indicator_code, province_code, CAST(period AS INTEGER) AS year, value
    FROM mart.province_indicators WHERE period_kind = 'year'
),
latest AS (
    SELECT t.target_code, t.measured_by, y.province_code, max(y.year) AS actual_year
    FROM ref.plan_targets t JOIN years y ON y.indicator_code = t.measured_by
    GROUP BY t.target_code, t.measured_by, y.province_code
),
actuals AS (
    SELECT t.*, l.province_code, l.actual_year,
           CASE WHEN t.measure = 'increase' THEN cur.value - base.value ELSE cur.value END AS actual_value,
           -- the change over the last year, to project the trend to the target year
           CASE WHEN t.measure = 'increase' THEN cur.value - base.value ELSE cur.value - prev.value END
               / CASE WHEN t.measure = 'increase' THEN greatest(l.actual_year - t.baseline_year, 1) ELSE 1 END
               AS yearly_change
    FROM ref.plan_targets t
    LEFT JOIN latest l ON l.target_code = t.target_code
    LEFT JOIN years cur ON cur.indicator_code = t.measured_by AND cur.year = l.actual_year
         AND cur.province_code = l.province_code
    LEFT JOIN years prev ON prev.indicator_code = t.measured_by AND prev.year = l.actual_year - 1
         AND prev.province_code = l.province_code
    LEFT JOIN years base ON base.indicator_code = t.measured_by AND base.year = t.baseline_year
         AND base.province_code = l.province_code
),
disputed AS (
    -- indicators whose figure of a year fails a reconciliation rule that reads it
    SELECT DISTINCT r.province_code, CAST(r.period AS INTEGER) AS year, code AS indicator_code
    FROM mart.reconciliation r, unnest(regexp_extract_all(r.expression, '[A-Z][A-Z0-9_]+')) AS u(code)
    WHERE r.status = 'mismatch' AND r.period_kind = 'year'
),
judged AS (
    SELECT *,
           EXISTS (SELECT 1 FROM disputed d WHERE d.indicator_code = actuals.measured_by
                   AND d.year = actuals.actual_year AND d.province_code = actuals.province_code) AS unreconciled,
           CASE WHEN actual_value IS NULL OR (measure = 'increase' AND actual_year <= baseline_year) THEN NULL
                ELSE actual_value + coalesce(yearly_change, 0) * greatest(target_year - actual_year, 0)
           END AS projected_value,
           CASE comparator WHEN '>=' THEN actual_value >= target_value WHEN '>' THEN actual_value > target_value
                           WHEN '<=' THEN actual_value <= target_value WHEN '<' THEN actual_value < target_value
           END AS satisfied
    FROM actuals
)
SELECT target_code, target_year, comparator, target_value, unit, description_vi, description_en,
       measured_by AS indicator_code, measure, province_code, actual_year,
       CASE WHEN measure = 'increase' AND actual_year <= baseline_year THEN NULL ELSE actual_value END
           AS actual_value,
       CASE WHEN measure = 'increase' AND actual_year <= baseline_year THEN NULL
            ELSE round(actual_value - target_value, 4) END AS gap,
       -- a share cannot be projected past 100 % (least() skips NULLs: nothing projected stays nothing)
       round(CASE WHEN unit = 'percent' AND projected_value IS NOT NULL THEN least(projected_value, 100)
                  ELSE projected_value END, 4) AS projected_value,
       CASE
           WHEN measured_by IS NULL OR actual_value IS NULL
                OR (measure = 'increase' AND actual_year <= baseline_year) THEN 'no data'
           WHEN unreconciled THEN 'unreconciled'
           WHEN actual_year >= target_year AND satisfied THEN 'met'
           WHEN actual_year >= target_year THEN 'off track'
           WHEN satisfied THEN 'on track'
           WHEN CASE comparator WHEN '>=' THEN projected_value >= target_value
                                WHEN '>' THEN projected_value > target_value
                                WHEN '<=' THEN projected_value <= target_value
                                WHEN '<' THEN projected_value < target_value END THEN 'on track'
           ELSE 'off track'
       END AS status,
       nullif(measurement_note, '') AS measurement_note, nullif(measurement_note_vi, '') AS measurement_note_vi
FROM judged
ORDER BY target_year, target_code;
