-- Core: the figures of current submissions only, in each indicator's own unit, with their cell of origin.
CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE core.fct_reported_values AS
SELECT v.submission_id, s.reporter_code, s.reporter_kind, rep.province_code, s.period AS reported_period,
       coalesce(v.district_code, rep.district_code) AS district_code, v.commune_code, v.indicator_code,
       i.aggregation, round(v.value * u.factor, 9) AS value, i.unit,
       v.value AS reported_value, v.unit AS reported_unit, v.qualifier,
       v.sheet, v.cell, v.raw_value, s.original_name
FROM staging.stg_reported_values v
JOIN audit.submissions s ON s.submission_id = v.submission_id AND s.is_current
JOIN ref.reporters rep ON rep.reporter_code = s.reporter_code AND rep.province_code = s.province_code
JOIN ref.indicators i ON i.indicator_code = v.indicator_code
JOIN ref.unit_conversions u ON u.from_unit = v.unit AND u.to_unit = i.unit
WHERE v.value IS NOT NULL;

-- One reporter's figure for one district (or for the whole province when the form has no district) and one
-- period of any kind, following the indicator's rule: stocks take the period's last month, flows add months.
-- Six-month and annual forms feed only their own period (ref.period_rollups).
CREATE TABLE core.fct_reporter_district_periods AS
WITH reported AS (
    SELECT reporter_code, reporter_kind, province_code, district_code, indicator_code, aggregation, unit,
           reported_period, sum(value) AS value, combined_qualifier(qualifier) AS qualifier
    FROM core.fct_reported_values
    GROUP BY reporter_code, reporter_kind, province_code, district_code, indicator_code, aggregation, unit,
             reported_period
)
SELECT m.reporter_code, m.reporter_kind, m.province_code, m.district_code, m.indicator_code, m.aggregation,
       m.unit, p.period, p.period_kind, p.year,
       CASE WHEN m.aggregation = 'stock' THEN max(CASE WHEN r.is_last_part THEN m.value END)
            ELSE sum(m.value) END AS value,
       combined_qualifier(m.qualifier) AS qualifier,
       count(*) AS months_reported, max(r.parts) AS months_in_period,
       bool_or(r.is_last_part) AS has_last_month
FROM reported m
JOIN ref.period_rollups r ON r.reported_period = m.reported_period
JOIN ref.periods p ON p.period = r.period
GROUP BY m.reporter_code, m.reporter_kind, m.province_code, m.district_code, m.indicator_code, m.aggregation,
         m.unit, p.period, p.period_kind, p.year;

-- A stock whose period's last month was not reported has no value for that period.
DELETE FROM core.fct_reporter_district_periods WHERE value IS NULL;
