"""Finds every template declared in ``ictstat/templates/forms/*.py`` (each module's ``TEMPLATES`` list)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ictstat.templates import forms
from ictstat.templates.spec import Template
from ictstat.text import fold


@lru_cache(maxsize=1)
def all_templates() -> tuple[Template, ...]:
    found: list[Template] = []
    for info in pkgutil.iter_modules(forms.__path__):
        module = importlib.import_module(f"{forms.__name__}.{info.name}")
        found.extend(getattr(module, "TEMPLATES", ()))
    ids = [t.template_id for t in found]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RuntimeError(f"template declared twice: {sorted(dupes)}")
    return tuple(sorted(found, key=lambda t: (t.form_code, t.version)))


def get_template(form_code: str, version: int | None = None) -> Template | None:
    """The template of a form code (case and spacing ignored); the latest version when none is given."""
    key = fold(form_code).replace(" ", "")
    matches = [t for t in all_templates() if fold(t.form_code).replace(" ", "") == key]
    if version is not None:
        matches = [t for t in matches if t.version == version]
    return max(matches, key=lambda t: t.version) if matches else None


def latest_templates() -> list[Template]:
    latest: dict[str, Template] = {}
    for t in all_templates():
        if t.form_code not in latest or t.version > latest[t.form_code].version:
            latest[t.form_code] = t
    return list(latest.values())
