-- Core: the figures of current submissions only, in each indicator's own unit, with their cell of origin.
CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE core.fct_reported_values AS
SELECT v.submission_id, s.reporter_code, s.reporter_kind, rep.province_code, s.period AS month_period,
       v.district_code, v.indicator_code, i.aggregation,
       round(v.value * u.factor, 9) AS value, i.unit,
       v.value AS reported_value, v.unit AS reported_unit, v.qualifier,
       v.sheet, v.cell, v.raw_value, s.original_name
FROM staging.stg_reported_values v
JOIN audit.submissions s ON s.submission_id = v.submission_id AND s.is_current
JOIN ref.reporters rep ON rep.reporter_code = s.reporter_code
JOIN ref.indicators i ON i.indicator_code = v.indicator_code
JOIN ref.unit_conversions u ON u.from_unit = v.unit AND u.to_unit = i.unit
WHERE v.value IS NOT NULL;

-- One reporter's figure for one district (or for the whole province when the form has no district) and one
-- period of any kind, following the indicator's rule: stocks take the period's last month, flows add months.
CREATE TABLE core.fct_reporter_district_periods AS
WITH monthly AS (
    SELECT reporter_code, reporter_kind, province_code, district_code, indicator_code, aggregation, unit,
           month_period, sum(value) AS value,
           combined_qualifier(qualifier) AS qualifier
    FROM core.fct_reported_values
    GROUP BY reporter_code, reporter_kind, province_code, district_code, indicator_code, aggregation, unit,
             month_period
)
SELECT m.reporter_code, m.reporter_kind, m.province_code, m.district_code, m.indicator_code, m.aggregation,
       m.unit, p.period, p.period_kind, p.year,
       CASE WHEN m.aggregation = 'stock' THEN max(CASE WHEN p.is_last_month THEN m.value END)
            ELSE sum(m.value) END AS value,
       combined_qualifier(m.qualifier) AS qualifier,
       count(*) AS months_reported, max(p.months_in_period) AS months_in_period,
       bool_or(p.is_last_month) AS has_last_month
FROM monthly m
JOIN ref.periods p ON p.month_period = m.month_period
GROUP BY m.reporter_code, m.reporter_kind, m.province_code, m.district_code, m.indicator_code, m.aggregation,
         m.unit, p.period, p.period_kind, p.year;

-- Figures computed from other figures at the same grain (the catalog's 'derivation' column says how).
INSERT INTO core.fct_reporter_district_periods
SELECT reporter_code, reporter_kind, province_code, district_code, 'TEL_SUBS_PHONE', 'derived', unit,
       period, period_kind, year, sum(value),
       combined_qualifier(qualifier),
       max(months_reported), max(months_in_period), bool_and(has_last_month)
FROM core.fct_reporter_district_periods
WHERE indicator_code IN ('TEL_SUBS_FIXED', 'TEL_SUBS_MOBILE') AND value IS NOT NULL
GROUP BY reporter_code, reporter_kind, province_code, district_code, unit, period, period_kind, year;

DELETE FROM core.fct_reporter_district_periods WHERE value IS NULL;
