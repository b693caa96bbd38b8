-- Lineage: every published figure (province, district and carrier marts) traced back to the cells it was
-- computed from, and the inputs of every derived figure. The lineage is a view: it has about four rows per cell
-- read (4.5 million at 20,000 workbooks), which as a table took most of the build's time and memory, while a
-- look-up of one figure (what `ictstat explain` and analysts do) filters it down to a few cells in milliseconds.
--
-- The rules repeat those of 40_core.sql and tasks/rules.py: a stock reads the cells of the period's last month
-- (ref.period_rollups.is_last_part), a flow adds every cell of the period, a derived 'sum' adds its parts at the
-- same grain, a 'formula' reads province figures, 'count_reporters' counts current submissions of a kind.

CREATE VIEW mart.indicator_lineage AS
WITH RECURSIVE
-- The indicators a 'sum' or 'formula' rule reads: the identifiers of its expression that are indicator codes
-- (the rest are context values and functions, lower case; tasks/rules.py refuses anything else).
edges AS (
    SELECT DISTINCT e.indicator_code, e.code AS part_code
    FROM (SELECT indicator_code, unnest(regexp_extract_all(expression, '[A-Za-z_][A-Za-z0-9_]*')) AS code
          FROM ref.derived_indicators WHERE method IN ('sum', 'formula')) e
    WHERE e.code IN (SELECT indicator_code FROM ref.indicators)
),
-- A derived figure may read another derived one: follow the rules down to indicators that are reported
-- (or counted), keeping the immediate part so that a cell says which input of the rule it feeds.
reach AS (
    SELECT indicator_code, part_code, part_code AS leaf_code FROM edges
    UNION
    SELECT r.indicator_code, r.part_code, e.part_code
    FROM reach r JOIN edges e ON e.indicator_code = r.leaf_code
),
expansion AS (
    SELECT indicator_code, CAST(NULL AS VARCHAR) AS part_code, indicator_code AS leaf_code
    FROM ref.indicators ANTI JOIN edges USING (indicator_code)
    UNION ALL
    SELECT r.indicator_code, r.part_code, r.leaf_code
    FROM reach r ANTI JOIN edges e ON e.indicator_code = r.leaf_code
),
-- Each reported cell with every period it feeds under its indicator's own rule.
cells AS (
    SELECT v.indicator_code AS leaf_code, r.period, v.province_code, v.district_code, v.reporter_code,
           v.reporter_kind, v.submission_id, v.original_name, v.reported_period, v.commune_code, v.sheet, v.cell,
           v.raw_value, v.reported_value, v.reported_unit, v.value AS value_in_unit, v.qualifier,
           CASE WHEN v.aggregation = 'stock' THEN 'last month of the period' ELSE 'sum' END AS cell_rule
    FROM core.fct_reported_values v
    JOIN ref.period_rollups r ON r.reported_period = v.reported_period
    WHERE v.aggregation <> 'stock' OR r.is_last_part
),
-- The submissions a 'count_reporters' indicator counts (one reporter may have several in a period).
counted AS (
    SELECT d.indicator_code AS leaf_code, pr.period, rep.province_code, rep.district_code, s.reporter_code,
           rep.reporter_kind, s.submission_id, s.original_name, s.period AS reported_period,
           CAST(NULL AS VARCHAR) AS commune_code, CAST(NULL AS VARCHAR) AS sheet, CAST(NULL AS VARCHAR) AS cell,
           CAST(NULL AS VARCHAR) AS raw_value, CAST(NULL AS DOUBLE) AS reported_value,
           CAST(NULL AS VARCHAR) AS reported_unit, CAST(NULL AS DOUBLE) AS value_in_unit,
           CAST(NULL AS VARCHAR) AS qualifier, 'count of reporters' AS cell_rule
    FROM ref.derived_indicators d
    JOIN ref.reporters rep ON rep.reporter_kind = trim(d.expression)
    JOIN audit.submissions s ON s.reporter_code = rep.reporter_code AND s.province_code = rep.province_code
                            AND s.is_current
    JOIN ref.period_rollups pr ON pr.reported_period = s.period
    WHERE d.method = 'count_reporters'
),
-- The same sources keyed by the grain of each mart: the province, the cell's district, the carrier.
sources AS (
    SELECT 'province' AS level, province_code AS grain_key, * FROM cells
    UNION ALL
    SELECT 'district', district_code, * FROM cells WHERE district_code IS NOT NULL
    UNION ALL
    SELECT 'carrier', reporter_code, * FROM cells WHERE reporter_kind IN ('telecom_carrier', 'postal_carrier')
    UNION ALL
    SELECT 'province', province_code, * FROM counted
),
figures AS (
    SELECT 'province' AS level, province_code AS grain_key, indicator_code, period, period_kind, province_code,
           CAST(NULL AS VARCHAR) AS district_code, CAST(NULL AS VARCHAR) AS carrier_code, value, unit
    FROM mart.province_indicators
    UNION ALL
    SELECT 'district', district_code, indicator_code, period, period_kind, province_code, district_code, NULL,
           value, unit
    FROM mart.district_indicators
    UNION ALL
    SELECT 'carrier', carrier_code, indicator_code, period, period_kind, province_code, NULL, carrier_code,
           value, unit
    FROM mart.carrier_indicators
)
SELECT f.level, f.indicator_code, f.period, f.period_kind, f.province_code, f.district_code, f.carrier_code,
       f.value, f.unit,
       coalesce('derived: ' || d.method || ' ' || d.expression,
                CASE WHEN i.aggregation = 'stock' THEN 'last month of the period' ELSE 'sum' END) AS aggregation,
       x.part_code, x.leaf_code AS cell_indicator_code, s.cell_rule, s.submission_id, s.original_name,
       s.reporter_code, s.reported_period, s.district_code AS cell_district_code, s.commune_code, s.sheet, s.cell,
       s.raw_value, s.reported_value, s.reported_unit, s.value_in_unit, s.qualifier
FROM figures f
JOIN ref.indicators i ON i.indicator_code = f.indicator_code
LEFT JOIN ref.derived_indicators d ON d.indicator_code = f.indicator_code
JOIN expansion x ON x.indicator_code = f.indicator_code
JOIN sources s ON s.level = f.level AND s.grain_key = f.grain_key AND s.province_code = f.province_code
              AND s.leaf_code = x.leaf_code AND s.period = f.period
-- Sorted by figure so that a look-up of one figure reads few row groups; cells in reading order (row, column).
ORDER BY f.level, f.province_code, f.indicator_code, f.period, f.district_code, f.carrier_code, x.part_code,
         s.reporter_code, s.reported_period, s.submission_id, s.sheet,
         CAST(regexp_extract(s.cell, '[0-9]+') AS INTEGER), length(s.cell), s.cell;

-- The inputs of every derived figure: the parts of a 'sum' at the same grain, the province figures and context
-- values (area, days, communes) a 'formula' reads. A part left blank has no value (blank is not zero).
CREATE TABLE mart.indicator_inputs AS
WITH rules AS (
    SELECT indicator_code, method, expression, unnest(names) AS name, generate_subscripts(names, 1) AS position
    FROM (SELECT *, regexp_extract_all(expression, '[A-Za-z_][A-Za-z0-9_]*') AS names FROM ref.derived_indicators)
    WHERE method IN ('sum', 'formula')
),
inputs AS (  -- first appearance of each indicator code or context value, in the order the expression reads
    SELECT r.indicator_code, r.method, r.expression, r.name AS input_name,
           CASE WHEN i.indicator_code IS NOT NULL THEN 'indicator' ELSE 'context' END AS input_kind,
           min(r.position) AS input_order
    FROM rules r
    LEFT JOIN ref.indicators i ON i.indicator_code = r.name
    -- the context values of tasks/rules.py (CONTEXT_VALUES), as core.period_context holds them
    WHERE i.indicator_code IS NOT NULL OR r.name IN ('area_km2', 'days_in_period', 'communes_total')
    GROUP BY ALL
),
figures AS (
    SELECT 'province' AS level, indicator_code, period, period_kind, province_code,
           CAST(NULL AS VARCHAR) AS district_code, CAST(NULL AS VARCHAR) AS carrier_code, value, unit
    FROM mart.province_indicators
    UNION ALL
    SELECT 'district', indicator_code, period, period_kind, province_code, district_code, NULL, value, unit
    FROM mart.district_indicators
    UNION ALL
    SELECT 'carrier', indicator_code, period, period_kind, province_code, NULL, carrier_code, value, unit
    FROM mart.carrier_indicators
),
context AS (
    UNPIVOT (SELECT province_code, period, area_km2, CAST(days_in_period AS DOUBLE) AS days_in_period,
                    CAST(communes_total AS DOUBLE) AS communes_total
             FROM core.period_context)
    ON area_km2, days_in_period, communes_total INTO NAME input_name VALUE input_value
)
SELECT f.level, f.indicator_code, f.period, f.period_kind, f.province_code, f.district_code, f.carrier_code,
       f.value, f.unit, n.method, n.expression, n.input_order, n.input_name, n.input_kind,
       coalesce(p.value, c.input_value) AS input_value, CASE WHEN n.input_kind = 'indicator' THEN pi.unit END AS input_unit
FROM figures f
JOIN inputs n ON n.indicator_code = f.indicator_code
LEFT JOIN ref.indicators pi ON pi.indicator_code = n.input_name
LEFT JOIN figures p ON n.input_kind = 'indicator' AND p.level = f.level AND p.indicator_code = n.input_name
                   AND p.period = f.period AND p.province_code = f.province_code
                   AND p.district_code IS NOT DISTINCT FROM f.district_code
                   AND p.carrier_code IS NOT DISTINCT FROM f.carrier_code
LEFT JOIN context c ON n.input_kind = 'context' AND c.input_name = n.input_name AND c.province_code = f.province_code
                   AND c.period = f.period
ORDER BY f.level, f.province_code, f.indicator_code, f.period, f.district_code, f.carrier_code, n.input_order;
