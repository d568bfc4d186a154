"""Task bodies, one module per DAG: each reads everything, computes in the core, then writes.

The DAG files only schedule and wire, and import these modules inside their task
functions, so parsing a DAG stays cheap and does no I/O. Every body takes the run's
:class:`~edgesense.config.Settings` and, for tests, optional
:class:`~edgesense.aws.clients.AwsClients`; without them it builds its own from
``aws_conn_id``.
"""
