-- Reference data: administrative units, reporters, indicators, unit conversions, provinces, periods and the
-- layout of the report's appendices. Loaded from the CSV files shipped in ictstat/refdata.
CREATE SCHEMA IF NOT EXISTS ref;

-- How qualified figures combine: a sum with any "more than" part is "more than", then "about", "less than".
CREATE TEMP MACRO combined_qualifier(q) AS
    CASE WHEN bool_or(q = 'more_than') THEN 'more_than'
         WHEN bool_or(q = 'about') THEN 'about'
         WHEN bool_or(q = 'less_than') THEN 'less_than'
         ELSE 'exact' END;

CREATE TABLE ref.provinces AS
SELECT province_code, province_name, CAST(area_km2 AS DOUBLE) AS area_km2,
       CAST(valid_from AS DATE) AS valid_from, CAST(valid_to AS DATE) AS valid_to, successor_code, notes
FROM in_ref_provinces;

CREATE TABLE ref.districts AS
SELECT province_code, province_name, district_code, district_name, district_type,
       CAST(commune_count AS INTEGER) AS commune_count, CAST(wards AS INTEGER) AS wards,
       CAST(valid_from AS DATE) AS valid_from, CAST(valid_to AS DATE) AS valid_to, notes
FROM in_ref_districts;

CREATE TABLE ref.reporters AS
SELECT reporter_code, reporter_kind, province_code, district_code, name_vi, name_en,
       CAST(valid_from AS DATE) AS valid_from, CAST(valid_to AS DATE) AS valid_to,
       successor_code, source, assumption
FROM in_ref_reporters;

CREATE TABLE ref.indicators AS
SELECT indicator_code, domain, name_vi, name_en, unit, unit_vi, aggregation, source_kind, source_form,
       report_section, derivation,
       -- the plausible range in the indicator's unit: a cell outside it rejects its file, a mart figure outside it
       -- refuses the build (tasks/build.py check_marts)
       TRY_CAST(min_value AS DOUBLE) AS min_value, TRY_CAST(max_value AS DOUBLE) AS max_value,
       -- decimals every printed column shows for this indicator (the appendix CLI and workbook)
       CAST(decimals AS INTEGER) AS decimals
FROM in_ref_indicators;

CREATE TABLE ref.unit_conversions AS
SELECT from_unit, to_unit, CAST(factor AS DOUBLE) AS factor FROM in_ref_units
UNION ALL
SELECT DISTINCT unit, unit, 1.0 FROM in_ref_indicators;

CREATE TABLE ref.communes AS
SELECT province_code, district_code, commune_code, commune_name, commune_type,
       CAST(valid_from AS DATE) AS valid_from, CAST(valid_to AS DATE) AS valid_to
FROM in_ref_communes;

-- One dimension of administrative units over time (provinces, districts until 2025-06-30, communes, wards and
-- special zones), one row per name and type a unit had: the key is (level, code, valid_from). Generated from
-- vietnamadminunits by ictstat/refdata/build_admin_units.py; a GSO code of 2025 may repeat a legacy code.
CREATE TABLE ref.admin_units AS
SELECT level, code, unit_type, name, nullif(parent_code, '') AS parent_code, province_code,
       CAST(valid_from AS DATE) AS valid_from, CAST(valid_to AS DATE) AS valid_to, source,
       nullif(assumption, '') AS assumption
FROM in_ref_admin_units;

-- Every legacy unit and the unit of 2025-07-01 it passed to (one successor each).
CREATE TABLE ref.admin_unit_crosswalk AS
SELECT legacy_level, legacy_code, legacy_type, legacy_name, legacy_province_code,
       CAST(legacy_valid_to AS DATE) AS legacy_valid_to, successor_level, successor_code, successor_type,
       successor_name, successor_province_code, CAST(valid_from AS DATE) AS valid_from, source,
       nullif(note, '') AS note
FROM in_ref_admin_unit_crosswalk;

-- Which department took over each function of the Sở Thông tin và Truyền thông on 2025-03-01.
CREATE TABLE ref.department_functions AS
SELECT province_code, domain, function_vi, function_en, reporter_code, successor_code,
       CAST(valid_from AS DATE) AS valid_from, nullif(source, '') AS source, nullif(assumption, '') AS assumption
FROM in_ref_department_functions;

CREATE TABLE ref.periods AS
SELECT period, period_kind, CAST(year AS INTEGER) AS year, CAST(number AS INTEGER) AS number,
       CAST(months_in_period AS INTEGER) AS months_in_period, CAST(days_in_period AS INTEGER) AS days_in_period,
       CAST(end_date AS DATE) AS end_date, same_period_last_year
FROM in_ref_periods;

CREATE TABLE ref.period_rollups AS
SELECT reported_period, period, CAST(is_last_part AS BOOLEAN) AS is_last_part, CAST(parts AS INTEGER) AS parts
FROM in_ref_period_rollups;

CREATE TABLE ref.appendix_lines AS
SELECT appendix, appendix_title_vi, appendix_title_en, CAST(line_order AS INTEGER) AS line_order, line_no,
       indicator_code, label_vi
FROM in_ref_appendix_lines;

CREATE TABLE ref.derived_indicators AS
SELECT indicator_code, method, expression, note FROM in_ref_derived_indicators;

CREATE TABLE ref.reconciliation_rules AS
SELECT rule_id, lhs, operator, rhs, CAST(tolerance AS DOUBLE) AS tolerance, tolerance_kind, description_vi,
       description_en
FROM in_ref_reconciliation_rules;

CREATE TABLE ref.reporting_calendar AS
SELECT form_code, reporter_kind, frequency, nullif(periods, '') AS periods, first_period,
       CAST(deadline_months_after AS INTEGER) AS deadline_months_after, CAST(deadline_day AS INTEGER) AS deadline_day,
       note
FROM in_ref_reporting_calendar;

CREATE TABLE ref.plan_targets AS
SELECT code AS target_code, CAST(target_year AS INTEGER) AS target_year, comparator,
       CAST(value AS DOUBLE) AS target_value, unit, description_vi, description_en, related_indicator, measured_by,
       measure, CAST(baseline_year AS INTEGER) AS baseline_year, measurement_note, measurement_note_vi
FROM in_ref_plan_targets;
