"""Pipeline steps: plain functions that take and return values and frames.

Each module owns one step of the data flow (intake, read, parse, validate, build, publish). The functions
are ordinary Python so that tests call them without Prefect; ``flows`` wraps them as Prefect tasks.
"""
