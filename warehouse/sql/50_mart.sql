-- Marts: the published indicator tables, by carrier, by district and for the province, for months, quarters,
-- halves and years, with the change against the same period of the previous year.
CREATE SCHEMA IF NOT EXISTS mart;

CREATE TABLE mart.carrier_indicators AS
WITH cur AS (
    SELECT indicator_code, period, period_kind, year, province_code, reporter_code, reporter_kind,
           round(sum(value), 6) AS value, unit,
           combined_qualifier(qualifier) AS qualifier,
           max(months_reported) AS months_reported, max(months_in_period) AS months_in_period
    FROM core.fct_reporter_district_periods
    WHERE reporter_kind IN ('telecom_carrier', 'postal_carrier')
    GROUP BY indicator_code, period, period_kind, year, province_code, reporter_code, reporter_kind, unit
)
SELECT c.indicator_code, c.period, c.period_kind, c.province_code, c.reporter_code AS carrier_code,
       c.reporter_kind AS carrier_kind, c.value, c.unit, c.qualifier,
       p.value AS previous_year_value,
       round(100 * (c.value / nullif(p.value, 0) - 1), 4) AS yoy_change_pct,
       round(c.value - p.value, 6) AS yoy_change_abs,
       c.months_reported, c.months_in_period, c.months_reported = c.months_in_period AS is_complete
FROM cur c
LEFT JOIN ref.periods cp ON cp.period = c.period AND cp.is_last_month
LEFT JOIN ref.periods pp ON pp.period_kind = cp.period_kind AND pp.number = cp.number
                         AND pp.year = cp.year - 1 AND pp.is_last_month
LEFT JOIN cur p ON p.indicator_code = c.indicator_code AND p.reporter_code = c.reporter_code
               AND p.period = pp.period
ORDER BY c.indicator_code, c.reporter_code, c.period;

CREATE TABLE mart.district_indicators AS
WITH cur AS (
    SELECT indicator_code, period, period_kind, year, province_code, district_code,
           round(sum(value), 6) AS value, unit,
           combined_qualifier(qualifier) AS qualifier,
           count(DISTINCT reporter_code) AS reporters
    FROM core.fct_reporter_district_periods
    WHERE district_code IS NOT NULL
    GROUP BY indicator_code, period, period_kind, year, province_code, district_code, unit
)
SELECT c.indicator_code, c.period, c.period_kind, c.province_code, c.district_code, d.district_name,
       d.district_type, c.value, c.unit, c.qualifier, p.value AS previous_year_value,
       round(100 * (c.value / nullif(p.value, 0) - 1), 4) AS yoy_change_pct,
       round(c.value - p.value, 6) AS yoy_change_abs,
       c.reporters
FROM cur c
LEFT JOIN ref.periods cp ON cp.period = c.period AND cp.is_last_month
LEFT JOIN ref.districts d ON d.district_code = c.district_code AND d.province_code = c.province_code
                          AND cp.end_date BETWEEN d.valid_from AND coalesce(d.valid_to, DATE '9999-12-31')
LEFT JOIN ref.periods pp ON pp.period_kind = cp.period_kind AND pp.number = cp.number
                         AND pp.year = cp.year - 1 AND pp.is_last_month
LEFT JOIN cur p ON p.indicator_code = c.indicator_code AND p.district_code = c.district_code
               AND p.period = pp.period
ORDER BY c.indicator_code, c.district_code, c.period;

CREATE TABLE mart.province_indicators AS
WITH summed AS (
    SELECT indicator_code, period, period_kind, year, province_code,
           round(sum(value), 6) AS value, unit,
           combined_qualifier(qualifier) AS qualifier,
           count(DISTINCT reporter_code) AS reporters
    FROM core.fct_reporter_district_periods
    GROUP BY indicator_code, period, period_kind, year, province_code, unit
),
enterprises AS (
    -- Active enterprises: carriers with a current submission for any month of the period.
    SELECT CASE rep.reporter_kind WHEN 'telecom_carrier' THEN 'TEL_ENTERPRISES'
                                  ELSE 'POS_ENTERPRISES' END AS indicator_code,
           p.period, p.period_kind, p.year, rep.province_code,
           CAST(count(DISTINCT s.reporter_code) AS DOUBLE) AS value, 'enterprises' AS unit, 'exact' AS qualifier,
           count(DISTINCT s.reporter_code) AS reporters
    FROM audit.submissions s
    JOIN ref.reporters rep ON rep.reporter_code = s.reporter_code
    JOIN ref.periods p ON p.month_period = s.period
    WHERE s.is_current AND rep.reporter_kind IN ('telecom_carrier', 'postal_carrier')
    GROUP BY rep.reporter_kind, p.period, p.period_kind, p.year, rep.province_code
),
cur AS (
    SELECT * FROM summed
    UNION ALL
    SELECT e.* FROM enterprises e JOIN ref.indicators i USING (indicator_code)
)
SELECT c.indicator_code, c.period, c.period_kind, c.province_code, c.value, c.unit, c.qualifier,
       p.value AS previous_year_value,
       round(100 * (c.value / nullif(p.value, 0) - 1), 4) AS yoy_change_pct,
       round(c.value - p.value, 6) AS yoy_change_abs,
       c.reporters
FROM cur c
LEFT JOIN ref.periods cp ON cp.period = c.period AND cp.is_last_month
LEFT JOIN ref.periods pp ON pp.period_kind = cp.period_kind AND pp.number = cp.number
                         AND pp.year = cp.year - 1 AND pp.is_last_month
LEFT JOIN cur p ON p.indicator_code = c.indicator_code AND p.province_code = c.province_code
               AND p.period = pp.period
ORDER BY c.indicator_code, c.period;

-- The report's appendices as a person reads them: one row per line, previous year, this year, change.
CREATE TABLE mart.appendix_lines AS
SELECT a.appendix, a.appendix_title_vi, y.year AS report_year, a.line_order, a.line_no, a.label_vi,
       a.indicator_code, i.unit_vi, p.previous_year_value, p.value, p.yoy_change_pct, p.yoy_change_abs,
       p.qualifier, p.province_code
FROM ref.appendix_lines a
JOIN ref.indicators i USING (indicator_code)
CROSS JOIN (SELECT DISTINCT year FROM ref.periods) y
LEFT JOIN mart.province_indicators p ON p.indicator_code = a.indicator_code AND p.period = CAST(y.year AS VARCHAR)
WHERE y.year IN (SELECT DISTINCT CAST(period AS INTEGER) FROM mart.province_indicators WHERE period_kind = 'year')
ORDER BY a.appendix, y.year, a.line_order;

CREATE VIEW mart.appendix_telecom AS
SELECT report_year AS nam, line_no AS stt, label_vi AS chi_tieu, unit_vi AS don_vi_tinh,
       previous_year_value AS nam_truoc, value AS nam_bao_cao,
       round(yoy_change_pct, 1) AS tang_giam_pct, indicator_code
FROM mart.appendix_lines
WHERE appendix = 'PL4'
ORDER BY report_year, line_order;
