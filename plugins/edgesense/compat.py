"""The one place DAG code imports Airflow names from: Airflow 3.x first, then 2.11.

We do not use ``airflow.providers.common.compat.sdk``: it needs common-compat >= 1.8,
newer than what MWAA pins on 2.11.0 and 3.0.6.
"""

from __future__ import annotations

try:  # Airflow 3.x: the Task SDK
    from airflow.sdk import (
        DeltaDataIntervalTimetable,
        Param,
        PokeReturnValue,
        chain,
        dag,
        task,
    )
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    AIRFLOW_V3 = True
except ImportError:  # Airflow 2.11
    from airflow.decorators import dag, task  # type: ignore[no-redef]
    from airflow.exceptions import AirflowFailException, AirflowSkipException  # type: ignore[no-redef]
    from airflow.models.baseoperator import chain  # type: ignore[no-redef]
    from airflow.models.param import Param  # type: ignore[no-redef]
    from airflow.sensors.base import PokeReturnValue  # type: ignore[no-redef]
    from airflow.timetables.interval import DeltaDataIntervalTimetable  # type: ignore[no-redef]

    AIRFLOW_V3 = False

__all__ = [
    "AIRFLOW_V3",
    "AirflowFailException",
    "AirflowSkipException",
    "DeltaDataIntervalTimetable",
    "Param",
    "PokeReturnValue",
    "chain",
    "dag",
    "task",
]
