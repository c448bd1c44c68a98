"""Operations jobs: aggregation, metrics cleanup, retention, reprocessing, GDPR erasure and export,
status. One module per job; each exposes a pydantic request model and ``run(params, settings)``
returning a JSON-able dict, shared by the HTTP entry points (functions/main.py), ``serve`` and the CLI.

Logs (contract with the log-based metrics of infra/monitoring): every run logs exactly one JSON
summary line (``logs.log_summary``) with ``message`` "<job> finished", ``job`` (``aggregate``,
``cleanup``, ``retention``, ``reprocess``, ``erase_user``, ``status``), ``duration_ms`` and the
job's counts:

- aggregate: ``buckets`` (total written), ``ranges``, ``mode`` (``recent`` | ``range``)
- cleanup: ``metrics_removed``, ``partitions_created``
- retention: ``deleted_total``, ``partitions_retired``, ``warehouse_deleted``, ``quarantine_purged``,
  ``dead_letter_purged``,
  ``dry_run``, ``complete``
- reprocess: ``failed_requeued``, ``requeued``, ``reaggregated_buckets``
- erase_user: ``erased`` (users), ``postgres_events``, ``warehouse_events``, ``queue_failed``
- status: ``backlog`` (pending + processing), ``pending``, ``failed``, ``oldest_pending_age_s``
  (seconds, 0 when nothing is pending), ``erasure_queue``

No line carries a user id, an event payload or a secret.
"""
