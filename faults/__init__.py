"""The fault campaign: real runs killed, starved of disk, raced and fed hostile files, and what they leave.

Nothing here is mocked. Runs are real ``python -m flows.nightly`` / ``flows.backfill`` processes (each in its own
process group, against one local Prefect server), kills are real SIGKILLs at the named checkpoints of
``tasks.faults``, a full disk is a real tmpfs or a real file-size limit, hostile workbooks are real files read by
the project's own ``parse_file`` in a worker process that can hang or die without taking the harness with it.

``python -m faults.run`` runs every check with a chosen budget and rewrites ``docs/reliability.md``; the tests
(``tests/test_faults.py``, ``tests/test_fuzz.py``, ``tests/test_injection.py``) run the same checks with a small
fixed budget.

Modules: ``procs`` (processes, the Prefect server; ``limited`` execs a run under a file-size limit or umask),
``home`` (an ictstat home's state: publication, ledger against inbox, leftovers), ``crash``, ``concurrency``
(+ ``analyst``, the querying analyst), ``disk``, ``mutations`` (+ ``xmlparts``, ``texts``) and ``fuzz``
(+ ``fuzzworker``), ``injection``, ``exposure``, ``campaign`` (the sections), ``report`` and ``run``.
"""
