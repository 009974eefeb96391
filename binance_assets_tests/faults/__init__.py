"""The fault-injection suite: a fault at each layer — the exchange (5xx, 429, cut and slow answers,
refusals), S3 and SQS (moto server errors, a poison body, a duplicate notification) and the runs
themselves (SIGKILL of real ``dagster asset materialize`` runs, overlapping runs) — then the
invariant ``harness.klines_outcomes`` checks: every hour complete and exact or visibly failed, one
row per key, nothing left in progress. Every test is bounded by pytest-timeout: nothing hangs."""
