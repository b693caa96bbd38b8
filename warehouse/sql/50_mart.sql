-- Marts: the published indicator tables, by carrier, by district and for the province, for months, quarters,
-- halves and years, with the change against the same period of the previous year.
CREATE SCHEMA IF NOT EXISTS mart;

CREATE TABLE mart.carrier_indicators AS
WITH cur AS (
    SELECT indicator_code, period, period_kind, province_code, reporter_code, reporter_kind,
           round(sum(value), 6) AS value, unit, combined_qualifier(qualifier) AS qualifier,
           max(months_reported) AS months_reported, max(months_in_period) AS months_in_period
    FROM core.fct_reporter_district_periods
    WHERE reporter_kind IN ('telecom_carrier', 'postal_carrier')
    GROUP BY indicator_code, period, period_kind, province_code, reporter_code, reporter_kind, unit
)
SELECT c.indicator_code, c.period, c.period_kind, c.province_code, c.reporter_code AS carrier_code,
       c.reporter_kind AS carrier_kind, c.value, c.unit, c.qualifier,
       p.value AS previous_year_value,
       round(100 * (c.value / nullif(p.value, 0) - 1), 4) AS yoy_change_pct,
       round(c.value - p.value, 6) AS yoy_change_abs,
       c.months_reported, c.months_in_period, c.months_reported = c.months_in_period AS is_complete,
       completeness_of(cp.end_date, gp.any_missing, gp.any_pending) AS completeness,
       gp.missing_reporters, completeness_note_vi(cp.end_date, gp.gaps_vi) AS completeness_note_vi,
       completeness_note_en(cp.end_date, gp.gaps_en) AS completeness_note_en
FROM cur c
JOIN ref.periods cp ON cp.period = c.period
LEFT JOIN cur p ON p.indicator_code = c.indicator_code AND p.reporter_code = c.reporter_code
               AND p.province_code = c.province_code AND p.period = cp.same_period_last_year
LEFT JOIN (
    SELECT g.indicator_code, g.period, g.province_code, g.reporter_code,
           bool_or(g.has_missing) AS any_missing, bool_or(g.has_pending) AS any_pending,
           string_agg(g.reporter_code, ', ' ORDER BY g.reporter_code) FILTER (WHERE g.has_missing)
               AS missing_reporters,
           string_agg(nullif(g.note_vi, ''), '; ' ORDER BY g.reporter_code) AS gaps_vi,
           string_agg(nullif(g.note_en, ''), '; ' ORDER BY g.reporter_code) AS gaps_en
    FROM core.figure_gaps g
    GROUP BY g.indicator_code, g.period, g.province_code, g.reporter_code
) gp ON gp.indicator_code = c.indicator_code AND gp.period = c.period AND gp.province_code = c.province_code
    AND gp.reporter_code = c.reporter_code
ORDER BY c.indicator_code, c.reporter_code, c.period;

CREATE TABLE mart.district_indicators AS
WITH cur AS (
    SELECT indicator_code, period, period_kind, province_code, district_code,
           round(sum(value), 6) AS value, unit, combined_qualifier(qualifier) AS qualifier,
           count(DISTINCT reporter_code) AS reporters
    FROM core.fct_reporter_district_periods
    WHERE district_code IS NOT NULL
    GROUP BY indicator_code, period, period_kind, province_code, district_code, unit
)
SELECT c.indicator_code, c.period, c.period_kind, c.province_code, c.district_code, d.district_name,
       d.district_type, c.value, c.unit, c.qualifier, p.value AS previous_year_value,
       round(100 * (c.value / nullif(p.value, 0) - 1), 4) AS yoy_change_pct,
       round(c.value - p.value, 6) AS yoy_change_abs,
       c.reporters,
       completeness_of(cp.end_date, gp.any_missing, gp.any_pending) AS completeness,
       gp.missing_reporters, completeness_note_vi(cp.end_date, gp.gaps_vi) AS completeness_note_vi,
       completeness_note_en(cp.end_date, gp.gaps_en) AS completeness_note_en
FROM cur c
JOIN ref.periods cp ON cp.period = c.period
LEFT JOIN (
    SELECT k.indicator_code, k.period, k.district_code,
           bool_or(g.has_missing) AS any_missing, bool_or(g.has_pending) AS any_pending,
           string_agg(g.reporter_code, ', ' ORDER BY g.reporter_code) FILTER (WHERE g.has_missing)
               AS missing_reporters,
           string_agg(nullif(g.note_vi, ''), '; ' ORDER BY g.reporter_code) AS gaps_vi,
           string_agg(nullif(g.note_en, ''), '; ' ORDER BY g.reporter_code) AS gaps_en
    FROM (SELECT DISTINCT indicator_code, period, province_code, district_code FROM cur) k
    JOIN core.figure_gaps g ON g.indicator_code = k.indicator_code AND g.period = k.period
         AND g.province_code = k.province_code
         -- a province-wide reporter (a carrier) owes every district its rows
         AND (g.district_code = k.district_code OR g.district_code IS NULL)
    GROUP BY k.indicator_code, k.period, k.district_code
) gp ON gp.indicator_code = c.indicator_code AND gp.period = c.period AND gp.district_code = c.district_code
LEFT JOIN ref.districts d ON d.district_code = c.district_code AND d.province_code = c.province_code
                          AND cp.end_date BETWEEN d.valid_from AND coalesce(d.valid_to, DATE '9999-12-31')
LEFT JOIN cur p ON p.indicator_code = c.indicator_code AND p.district_code = c.district_code
               AND p.period = cp.same_period_last_year
ORDER BY c.indicator_code, c.district_code, c.period;

CREATE TABLE mart.province_indicators AS
SELECT c.indicator_code, c.period, c.period_kind, c.province_code, c.value, c.unit, c.qualifier,
       p.value AS previous_year_value,
       round(100 * (c.value / nullif(p.value, 0) - 1), 4) AS yoy_change_pct,
       round(c.value - p.value, 6) AS yoy_change_abs,
       c.reporters,
       completeness_of(cp.end_date, gp.any_missing, gp.any_pending) AS completeness,
       gp.missing_reporters, completeness_note_vi(cp.end_date, gp.gaps_vi) AS completeness_note_vi,
       completeness_note_en(cp.end_date, gp.gaps_en) AS completeness_note_en
FROM core.fct_province_periods c
JOIN ref.periods cp ON cp.period = c.period
LEFT JOIN (
    SELECT g.indicator_code, g.period, g.province_code,
           bool_or(g.has_missing) AS any_missing, bool_or(g.has_pending) AS any_pending,
           string_agg(g.reporter_code, ', ' ORDER BY g.reporter_code) FILTER (WHERE g.has_missing)
               AS missing_reporters,
           string_agg(nullif(g.note_vi, ''), '; ' ORDER BY g.reporter_code) AS gaps_vi,
           string_agg(nullif(g.note_en, ''), '; ' ORDER BY g.reporter_code) AS gaps_en
    FROM core.figure_gaps g
    GROUP BY g.indicator_code, g.period, g.province_code
) gp ON gp.indicator_code = c.indicator_code AND gp.period = c.period AND gp.province_code = c.province_code
LEFT JOIN core.fct_province_periods p ON p.indicator_code = c.indicator_code
     AND p.province_code = c.province_code AND p.period = cp.same_period_last_year
ORDER BY c.indicator_code, c.period;

-- The report's appendices as a person reads them: one row per line, previous year, this year, change.
CREATE TABLE mart.appendix_lines AS
SELECT a.appendix, a.appendix_title_vi, y.year AS report_year, a.line_order, a.line_no, a.label_vi,
       a.indicator_code, i.unit_vi, p.previous_year_value, p.value, p.yoy_change_pct, p.yoy_change_abs,
       p.qualifier, y.province_code, i.unit, i.decimals,
       -- the comparison the report prints: the index (this year / last year x 100) for counts and amounts,
       -- the change in percentage points for rates and shares (a relative change of a rate misleads)
       CASE WHEN i.unit <> 'percent' THEN round(100 * p.value / nullif(p.previous_year_value, 0), 4) END
           AS yoy_index,
       CASE WHEN i.unit = 'percent' THEN round(p.value - p.previous_year_value, 4) END AS yoy_change_pp, p.completeness, p.missing_reporters, p.completeness_note_vi,
       p.completeness_note_en
FROM ref.appendix_lines a
LEFT JOIN ref.indicators i USING (indicator_code)  -- section headings have no indicator
CROSS JOIN (SELECT DISTINCT year, province_code FROM core.fct_province_periods WHERE period_kind = 'year') y
LEFT JOIN mart.province_indicators p ON p.indicator_code = a.indicator_code AND p.period = CAST(y.year AS VARCHAR)
      AND p.province_code = y.province_code
ORDER BY a.appendix, y.year, a.line_order;

-- District breakdowns of the appendices (Phụ lục 2: radio and receivers, 3a: postal points, 4: telecom).
CREATE TABLE mart.appendix_district_lines AS
SELECT a.appendix, y.year AS report_year, a.line_order, a.label_vi, a.indicator_code, i.unit_vi,
       d.district_code, d.district_name, d.district_type, di.value, di.previous_year_value, di.yoy_change_pct,
       di.completeness, di.missing_reporters, di.completeness_note_vi, di.completeness_note_en
FROM ref.appendix_lines a
JOIN ref.indicators i USING (indicator_code)
CROSS JOIN (SELECT DISTINCT year FROM ref.periods) y
JOIN ref.districts d ON make_date(y.year, 12, 31) BETWEEN d.valid_from AND coalesce(d.valid_to, DATE '9999-12-31')
JOIN mart.district_indicators di ON di.indicator_code = a.indicator_code AND di.district_code = d.district_code
     AND di.period = CAST(y.year AS VARCHAR)
ORDER BY a.appendix, y.year, a.line_order, d.district_code;

-- One view per appendix, columns named as the printed table reads (filter on nam = the report year).
CREATE VIEW mart.appendix_press AS
SELECT report_year AS nam, line_no AS stt, label_vi AS chi_tieu, unit_vi AS don_vi_tinh,
       previous_year_value AS nam_truoc, value AS nam_bao_cao,
       CASE WHEN unit <> 'percent' THEN round(yoy_change_pct, 1) END AS tang_giam_pct,
       round(yoy_index, 1) AS chi_so_so_sanh_pct, round(yoy_change_pp, 1) AS tang_giam_diem_pct,
       qualifier, indicator_code, completeness, completeness_note_vi AS ghi_chu
FROM mart.appendix_lines
WHERE appendix = 'PL2'
ORDER BY report_year, line_order;

CREATE VIEW mart.appendix_postal AS
SELECT report_year AS nam, line_no AS stt, label_vi AS chi_tieu, unit_vi AS don_vi_tinh,
       previous_year_value AS nam_truoc, value AS nam_bao_cao,
       CASE WHEN unit <> 'percent' THEN round(yoy_change_pct, 1) END AS tang_giam_pct,
       round(yoy_index, 1) AS chi_so_so_sanh_pct, round(yoy_change_pp, 1) AS tang_giam_diem_pct,
       qualifier, indicator_code, completeness, completeness_note_vi AS ghi_chu
FROM mart.appendix_lines
WHERE appendix = 'PL3'
ORDER BY report_year, line_order;

CREATE VIEW mart.appendix_telecom AS
SELECT report_year AS nam, line_no AS stt, label_vi AS chi_tieu, unit_vi AS don_vi_tinh,
       previous_year_value AS nam_truoc, value AS nam_bao_cao,
       CASE WHEN unit <> 'percent' THEN round(yoy_change_pct, 1) END AS tang_giam_pct,
       round(yoy_index, 1) AS chi_so_so_sanh_pct, round(yoy_change_pp, 1) AS tang_giam_diem_pct,
       qualifier, indicator_code, completeness, completeness_note_vi AS ghi_chu
FROM mart.appendix_lines
WHERE appendix = 'PL4'
ORDER BY report_year, line_order;

CREATE VIEW mart.appendix_it AS
SELECT report_year AS nam, line_no AS stt, label_vi AS chi_tieu, unit_vi AS don_vi_tinh,
       previous_year_value AS nam_truoc, value AS nam_bao_cao,
       CASE WHEN unit <> 'percent' THEN round(yoy_change_pct, 1) END AS tang_giam_pct,
       round(yoy_index, 1) AS chi_so_so_sanh_pct, round(yoy_change_pp, 1) AS tang_giam_diem_pct,
       qualifier, indicator_code, completeness, completeness_note_vi AS ghi_chu
FROM mart.appendix_lines
WHERE appendix = 'PL5'
ORDER BY report_year, line_order;

CREATE VIEW mart.appendix_inspection AS
SELECT report_year AS nam, line_no AS stt, label_vi AS chi_tieu, unit_vi AS don_vi_tinh,
       previous_year_value AS nam_truoc, value AS nam_bao_cao,
       CASE WHEN unit <> 'percent' THEN round(yoy_change_pct, 1) END AS tang_giam_pct,
       round(yoy_index, 1) AS chi_so_so_sanh_pct, round(yoy_change_pp, 1) AS tang_giam_diem_pct,
       qualifier, indicator_code, completeness, completeness_note_vi AS ghi_chu
FROM mart.appendix_lines
WHERE appendix = 'PL6'
ORDER BY report_year, line_order;

CREATE VIEW mart.appendix_districts AS
SELECT appendix AS phu_luc, report_year AS nam, district_code AS ma_huyen,
       upper(left(district_type, 1)) || substr(district_type, 2) || ' ' || district_name AS huyen, label_vi AS chi_tieu, unit_vi AS don_vi_tinh,
       value AS gia_tri, previous_year_value AS nam_truoc, indicator_code, completeness,
       completeness_note_vi AS ghi_chu
FROM mart.appendix_district_lines
ORDER BY appendix, report_year, line_order, district_code;
