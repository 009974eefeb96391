"""Runs that never block each other: crashed runs cleaned up, overlapping runs taken in turn.

Every run of this code location executes through ``guarded_executor`` (Dagster's default
executor, multiprocess or in-process, wrapped), which in the run's orchestrating process:

1. records on the run which process orchestrates it (``processes``), so any later run on the same
   machine can tell whether it is still alive;
2. cleans up crashed runs (``crashed``): a run whose orchestrating process is gone — killed,
   out of memory, the machine restarted — is marked failed, its orphaned step processes stopped
   and its pool slots freed, at the start of the run and every few seconds while it runs, so a
   step waiting on a slot a dead run held starts within seconds, with or without the daemon;
3. waits for earlier runs writing the same hours of the same datasets (``overlaps``), saying which.
"""
