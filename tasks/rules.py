"""Declarative rules turned into SQL: derived indicators and reconciliation rules.

The rules live in reference files an analyst can read and extend (``ictstat/refdata/derived_indicators.csv``,
``ictstat/refdata/reconciliation_rules.csv``; both are also in the warehouse as ``ref.*`` tables). Expressions
are arithmetic over indicator codes, a few context values and a short list of SQL functions; anything else is
refused with a message naming the rule, so a rule file can never carry arbitrary SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CONTEXT_VALUES = {
    "area_km2": "province land area in km2 (ref.provinces)",
    "days_in_period": "days in the period (ref.periods)",
    "communes_total": "commune-level units of the province at the end of the period (ref.communes)",
}
FUNCTIONS = {"round", "sqrt", "pi", "abs", "least", "greatest", "nullif", "coalesce", "power", "ln", "exp"}
_TOKEN = re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[-+*/(),]")


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class Expression:
    sql: str  # the expression with indicator codes as quoted column names
    codes: tuple[str, ...]  # indicator codes it reads, in order of appearance
    context: tuple[str, ...]  # context values it reads


def compile_expression(
    text: str, known_codes: Iterable[str], where: str, reads_indicator: bool = True
) -> Expression:
    """Check an expression token by token and turn indicator codes into column references; with
    ``reads_indicator`` false it may read context values only (a rule's side such as ``communes_total``)."""
    known = set(known_codes)
    out: list[str] = []
    codes: list[str] = []
    context: list[str] = []
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise RuleError(f"{where}: character {text[pos]!r} is not allowed in '{text}'")
        tokens.append(m.group(0))
        pos = m.end()
    for i, tok in enumerate(tokens):
        if tok.isspace() or re.fullmatch(r"\d+(?:\.\d+)?|[-+*/(),]", tok):
            out.append(tok)
        elif tok in known:
            out.append(f'"{tok}"')
            if tok not in codes:
                codes.append(tok)
        elif tok in CONTEXT_VALUES:
            out.append(tok)
            if tok not in context:
                context.append(tok)
        elif tok.lower() in FUNCTIONS and _next_non_space(tokens, i) == "(":
            out.append(tok.lower())
        else:
            raise RuleError(
                f"{where}: '{tok}' is neither an indicator code, a context value nor an allowed function"
            )
    if not codes and (reads_indicator or not context):
        raise RuleError(f"{where}: '{text}' reads no indicator")
    return Expression("".join(out), tuple(codes), tuple(context))


def _next_non_space(tokens: list[str], i: int) -> str:
    return next((t for t in tokens[i + 1 :] if not t.isspace()), "")


def _qualified(sql: str) -> str:
    return re.sub(r'"([A-Z0-9_]+)"', r'w."\1"', sql)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _pivot(codes: Iterable[str], source: str, keys: str) -> str:
    columns = ",\n           ".join(
        f'max(value) FILTER (WHERE indicator_code = {_quote(c)}) AS "{c}"' for c in codes
    )
    return f"SELECT {keys},\n           {columns}\n    FROM {source}\n    GROUP BY {keys}"


def derived_sums_sql(rules: Iterable[Mapping[str, str]], known_codes: Iterable[str]) -> str:
    """Sum-of-parts indicators, computed at the finest grain (reporter x district x period) so that every
    mart (carrier, district, province) gets them."""
    known = set(known_codes)
    rules = list(rules)
    pending = {r["indicator_code"] for r in rules if r["method"] == "sum"}
    statements = []
    for r in rules:
        if r["method"] != "sum":
            continue
        pending.discard(r["indicator_code"])
        expr = compile_expression(r["expression"], known, f"derived {r['indicator_code']}")
        early = [c for c in expr.codes if c in pending]
        if early:
            # it would be summed before it exists and silently left out
            raise RuleError(f"derived {r['indicator_code']}: {', '.join(early)} must be defined before it")
        if not re.fullmatch(r'"[A-Z0-9_]+"(\s*\+\s*"[A-Z0-9_]+")*', expr.sql.strip()):
            raise RuleError(f"derived {r['indicator_code']}: a 'sum' rule adds indicator codes only")
        parts = ", ".join(_quote(c) for c in expr.codes)
        statements.append(
            f"""INSERT INTO core.fct_reporter_district_periods
SELECT reporter_code, reporter_kind, province_code, district_code, {_quote(r["indicator_code"])}, 'derived',
       any_value(unit), period, period_kind, year, sum(value), combined_qualifier(qualifier),
       max(months_reported), max(months_in_period), bool_and(has_last_month)
FROM core.fct_reporter_district_periods
WHERE indicator_code IN ({parts}) AND value IS NOT NULL
GROUP BY reporter_code, reporter_kind, province_code, district_code, period, period_kind, year;"""
        )
    return "\n\n".join(statements)


def derived_counts_sql(rules: Iterable[Mapping[str, str]], units: Mapping[str, str]) -> str:
    """Indicators that count reporters of a kind with a current submission in the period (enterprises)."""
    statements = []
    for r in rules:
        if r["method"] != "count_reporters":
            continue
        kind = r["expression"].strip()
        if not re.fullmatch(r"[a-z_]+", kind):
            raise RuleError(f"derived {r['indicator_code']}: '{kind}' is not a reporter kind")
        statements.append(
            f"""INSERT INTO core.fct_province_periods
SELECT {_quote(r["indicator_code"])}, pr.period, p.period_kind, p.year, rep.province_code,
       CAST(count(DISTINCT s.reporter_code) AS DOUBLE), {_quote(units[r["indicator_code"]])}, 'exact',
       count(DISTINCT s.reporter_code)
FROM audit.submissions s
JOIN ref.reporters rep ON rep.reporter_code = s.reporter_code AND rep.province_code = s.province_code
JOIN ref.period_rollups pr ON pr.reported_period = s.period
JOIN ref.periods p ON p.period = pr.period
WHERE s.is_current AND rep.reporter_kind = {_quote(kind)}
GROUP BY pr.period, p.period_kind, p.year, rep.province_code;"""
        )
    return "\n\n".join(statements)


def derived_formulas_sql(rules: Iterable[Mapping[str, str]], units: Mapping[str, str]) -> str:
    """Province-level formulas (rates, radius, per-day figures), in file order so a formula may use an
    earlier one; a formula is computed for a period only when every indicator it reads is there, and kept
    only when it has a value (a province whose area is not in the register gets no service radius)."""
    statements = []
    for r in rules:
        if r["method"] != "formula":
            continue
        code = r["indicator_code"]
        expr = compile_expression(r["expression"], units.keys(), f"derived {code}")
        present = " AND ".join(f'w."{c}" IS NOT NULL' for c in expr.codes)
        statements.append(
            f"""INSERT INTO core.fct_province_periods
SELECT {_quote(code)}, w.period, w.period_kind, w.year, w.province_code, {expr.sql}, {_quote(units[code])},
       'exact', NULL
FROM ({_pivot(expr.codes, "core.fct_province_periods", "province_code, period, period_kind, year")}) w
JOIN core.period_context USING (province_code, period)
WHERE {present} AND ({expr.sql}) IS NOT NULL;"""
        )
    return "\n\n".join(statements)


def reconciliation_sql(rules: Iterable[Mapping[str, str]], known_codes: Iterable[str]) -> str:
    """``mart.reconciliation``: every rule for every province and period where any of its indicators exists."""
    known = set(known_codes)
    selects = []
    for r in rules:
        where = f"reconciliation rule {r['rule_id']}"
        # one side may be the reference register alone (communes_total): a source independent of the forms
        lhs = compile_expression(r["lhs"], known, where)
        rhs = compile_expression(r["rhs"], known, where, reads_indicator=False)
        op = r["operator"]
        if op not in ("=", "<=", ">=", "~="):
            raise RuleError(f"{where}: operator '{op}' is not one of =, <=, >=, ~=")
        tol = float(r["tolerance"] or 0)
        kind = r["tolerance_kind"] or "abs"
        if kind not in ("abs", "rel"):
            raise RuleError(f"{where}: tolerance_kind must be abs or rel")
        allowed = f"{tol!r}" if kind == "abs" else f"{tol!r} * abs(rhs)"
        test = {
            "=": f"abs(lhs - rhs) <= {allowed}",
            "~=": f"abs(lhs - rhs) <= {allowed}",
            "<=": f"lhs <= rhs + {allowed}",
            ">=": f"lhs >= rhs - {allowed}",
        }[op]
        codes = list(dict.fromkeys(lhs.codes + rhs.codes))
        selects.append(
            f"""SELECT {_quote(r["rule_id"])} AS rule_id, period, period_kind, province_code, lhs, rhs,
       CASE WHEN lhs IS NULL OR rhs IS NULL THEN 'no_data' WHEN {test} THEN 'holds' ELSE 'mismatch' END AS status,
       round(lhs - rhs, 6) AS difference, {_quote(op)} AS operator, CAST({tol!r} AS DOUBLE) AS tolerance,
       {_quote(kind)} AS tolerance_kind, {_quote(r["lhs"] + " " + op + " " + r["rhs"])} AS expression,
       {_quote(r["description_vi"])} AS description_vi, {_quote(r["description_en"])} AS description_en
FROM (
    SELECT w.period, w.period_kind, w.province_code, {_qualified(lhs.sql)} AS lhs, {_qualified(rhs.sql)} AS rhs
    FROM ({_pivot(codes, "core.fct_province_periods", "province_code, period, period_kind, year")}) w
    JOIN core.period_context USING (province_code, period)
    WHERE {" OR ".join(f'w."{c}" IS NOT NULL' for c in codes)}
)"""
        )
    body = "\nUNION ALL\n".join(selects)
    return f"CREATE TABLE mart.reconciliation AS\n{body}\nORDER BY rule_id, period;"


def indicator_forms(
    catalog: Mapping[str, Mapping[str, str]],
    derived: Iterable[Mapping[str, str]],
    calendar: Iterable[Mapping[str, str]],
) -> list[dict[str, object]]:
    """Which forms feed each indicator (a derived one: the forms of what it reads; a count of reporters: the
    forms its reporters owe), and whether only the period's last month counts (stocks, and what is derived
    from stocks only). The completeness of a published figure is judged on these forms (50_mart.sql)."""
    rules = {r["indicator_code"]: r for r in derived}
    kind_forms: dict[str, set[str]] = {}
    for c in calendar:
        kind_forms.setdefault(c["reporter_kind"], set()).add(c["form_code"])
    memo: dict[str, tuple[frozenset[str], bool]] = {}

    def feeds(code: str, seen: frozenset[str]) -> tuple[frozenset[str], bool]:
        if code in memo:
            return memo[code]
        row = catalog.get(code, {})
        rule = rules.get(code)
        if rule is None or code in seen:  # a reported indicator (or a cycle the rule checks refuse anyway)
            forms = frozenset(f.strip() for f in (row.get("source_form") or "").split(",") if f.strip())
            result = (forms, row.get("aggregation") == "stock")
        elif rule["method"] == "count_reporters":
            result = (frozenset(kind_forms.get(rule["expression"].strip(), set())), False)
        else:
            expr = compile_expression(rule["expression"], catalog.keys(), f"derived {code}")
            parts = [feeds(c, seen | {code}) for c in expr.codes]
            result = (frozenset().union(*(p[0] for p in parts)), all(p[1] for p in parts))
        memo[code] = result
        return result

    return [
        {"indicator_code": code, "form_code": form, "last_month_only": feeds(code, frozenset())[1]}
        for code in sorted(catalog)
        for form in sorted(feeds(code, frozenset())[0])
    ]
