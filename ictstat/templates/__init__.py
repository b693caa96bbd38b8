"""Reporting templates (biểu mẫu): what each form looks like, how to write it and how to read it back.

A template is data (:mod:`ictstat.templates.spec`); every module in ``forms/`` declares ``TEMPLATES``, and the
registry finds them. A new form, or a new version of one, is a new file in ``forms/``: the pipeline does not
change. Old versions stay registered so that files sent on an old layout keep loading.
"""

from ictstat.templates.registry import all_templates, get_template, latest_templates
from ictstat.templates.spec import COVER_FIELDS, CoverField, Measure, SheetSpec, Template

__all__ = [
    "COVER_FIELDS",
    "CoverField",
    "Measure",
    "SheetSpec",
    "Template",
    "all_templates",
    "get_template",
    "latest_templates",
]
