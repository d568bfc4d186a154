"""edgesense: CDN edge logs to CloudWatch metrics, Parquet and Athena partitions.

The package is layered so that data flows one way:

* ``formats``, ``rules``, ``aggregate``, ``metrics``: the core. Pure Python and DuckDB,
  no Airflow and no AWS, so the CLI starts fast and is tested without a scheduler.
* ``aws``: adapters that take amazon-provider hooks (sources, rules store, publish, catalog).
* ``pipeline``: the task bodies the DAGs call, gluing the two together.
"""

__version__ = "0.1.0"
