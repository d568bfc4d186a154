"""What a task failure says on the alarm topic: DAG, task, run, try, the error's first line, the log.

Core: no Airflow, no AWS. SNS subjects must be ASCII, under 100 characters, without
line breaks; the message is plain text that reads well in e-mail and in chat.
"""

from __future__ import annotations

from dataclasses import dataclass

SUBJECT_MAX = 100


@dataclass(frozen=True)
class Failure:
    dag_id: str
    task_id: str
    run_id: str
    try_number: int
    error: str
    map_index: int = -1
    log_url: str | None = None

    @property
    def first_line(self) -> str:
        text = self.error.strip()
        return text.splitlines()[0] if text else "(no message)"

    def subject(self) -> str:
        task = self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"
        text = f"edgesense: {self.dag_id}.{task} failed (try {self.try_number})"
        text = text.encode("ascii", "replace").decode()
        return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1] + "~"

    def message(self) -> str:
        lines = [
            f"DAG:   {self.dag_id}",
            f"Task:  {self.task_id}" + ("" if self.map_index < 0 else f" (map index {self.map_index})"),
            f"Run:   {self.run_id}",
            f"Try:   {self.try_number}",
            f"Error: {self.first_line}",
        ]
        if self.log_url:
            lines.append(f"Log:   {self.log_url}")
        return "\n".join(lines) + "\n"
