"""The BigQuery sink (Storage Write API, exactly-once by protocol), one module per concern:
``sink`` (the Sink), ``protocol`` (the stream protocol's decisions, pure), ``write_api`` (the
Storage Write API calls), ``rows`` (Arrow rows), ``sql`` (statements outside delivery), ``table``
(the table Terraform defines, checked), ``errors`` (BigQuery's answers classified)."""

from platform_events.sinks.bigquery.sink import BigQuerySink

__all__ = ["BigQuerySink"]
