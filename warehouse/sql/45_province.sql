-- Province level before publication: reported figures summed over reporters and districts; derived counts and
-- formulas are added next (tasks/rules.py), then the marts add year-on-year changes.
CREATE TABLE core.fct_province_periods AS
SELECT indicator_code, period, period_kind, year, province_code, round(sum(value), 6) AS value, unit,
       combined_qualifier(qualifier) AS qualifier, count(DISTINCT reporter_code) AS reporters
FROM core.fct_reporter_district_periods
GROUP BY indicator_code, period, period_kind, year, province_code, unit;

-- Values a formula may use beside indicators: the province's area, the period's days, the number of communes.
CREATE TABLE core.period_context AS
SELECT pv.province_code, p.period, any_value(pv.area_km2) AS area_km2, any_value(p.days_in_period) AS days_in_period,
       count(c.commune_code) AS communes_total
FROM ref.provinces pv
CROSS JOIN ref.periods p
LEFT JOIN ref.communes c ON c.province_code = pv.province_code
      AND p.end_date BETWEEN c.valid_from AND coalesce(c.valid_to, DATE '9999-12-31')
WHERE pv.province_code IN (SELECT DISTINCT province_code FROM core.fct_province_periods)
GROUP BY pv.province_code, p.period;
