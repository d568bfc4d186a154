"""The line path's loading: every line of a group of files as text, and recovery from damage.

A scan of many files that fails is narrowed to the files that cause it; a gzip object
that is truncated or corrupt keeps the complete lines before the damage (salvaged to a
plain copy, which is what gets read) and is reported for quarantine. Used by
:class:`~edgesense.aggregate.Aggregator` only, and only for the files that need it.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import duckdb

from edgesense.duck import Session
from edgesense.formats import gzip_isize, gzip_problem, salvage_gzip

if TYPE_CHECKING:
    from edgesense.aggregate import BatchResult, SourceFile

log = logging.getLogger(__name__)

LINE_DELIMITER = "\x1f"
MAX_LINE_BYTES = 1024 * 1024


class LineLoader:
    """Reads files into ``raw_lines`` (``line/read_lines.sql``), isolating damaged ones."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.scanned = False  # reject_errors exists only once a store_rejects scan has run

    def read_group(
        self, members: list[SourceFile], compressed: bool, result: BatchResult
    ) -> list[SourceFile]:
        """Read a group of files; find and quarantine the corrupt ones."""
        if not members:
            return []
        compression = "gzip" if compressed else "none"
        try:
            self._read(members, compression)
        except duckdb.IOException:
            log.warning(
                "scan of %d files failed; probing each file to isolate the corrupt ones", len(members)
            )
        else:
            return self._check_gzip_lengths(members, result) if compressed else members
        intact: list[SourceFile] = []
        damaged: list[tuple[SourceFile, str]] = []
        for f in members:
            try:
                self.session.run(
                    "line/probe_file.sql",
                    {"file": str(f.path), "delim": LINE_DELIMITER, "compression": compression,
                     "max_line_size": MAX_LINE_BYTES},
                ).fetchall()  # fmt: skip
                intact.append(f)
            except duckdb.Error as exc:
                damaged.append((f, str(exc).split("\n", 1)[0].replace(str(f.path), "<object>")))
        if intact:
            self._read(intact, compression)
            if compressed:  # passing the probe does not prove a stream is whole
                intact = self._check_gzip_lengths(intact, result)
        return intact + self._quarantine(damaged, compressed, result)

    def _check_gzip_lengths(self, members: list[SourceFile], result: BatchResult) -> list[SourceFile]:
        """Catch truncated gzip objects that the scan read without an error.

        The lines read must add up to the trailer's ISIZE. Only objects where they do not
        (truncated, concatenated members, lines the scan rejected) get a full inflate.
        """
        read = {r["local_file"]: (r["n"], r["rows"]) for r in self.session.rows("line/raw_bytes_by_file.sql")}
        damaged: list[tuple[SourceFile, str]] = []
        for f in members:
            n, rows = read.get(str(f.path), (0, 0))
            # LF or CRLF line ends (the reader keeps the style of the first line); the last
            # line end is optional.
            if gzip_isize(f.path) in {x % 2**32 for x in (n, n - 1, n + rows, n + rows - 2)}:
                continue
            if (problem := gzip_problem(f.path)) is not None:
                self.session.run("line/raw_lines_drop_file.sql", {"local_file": str(f.path)})
                damaged.append((f, problem))
        bad = {id(f) for f, _ in damaged}
        return [f for f in members if id(f) not in bad] + self._quarantine(damaged, True, result)

    def _quarantine(
        self, damaged: list[tuple[SourceFile, str]], compressed: bool, result: BatchResult
    ) -> list[SourceFile]:
        """Salvage what can be read from damaged objects; return the ones that kept lines."""
        kept: list[SourceFile] = []
        salvaged: list[SourceFile] = []  # their plain copies, which are what gets read
        for f, reason in damaged:
            if compressed and (rescued := self._salvage(f, result)) is not None:
                kept.append(f)
                salvaged.append(rescued)
            else:
                result.files_rejected.append({"key": f.key, "reason": f"corrupt object: {reason}"})
        if salvaged:
            self._read(salvaged, "none")
        return kept

    def _salvage(self, f: SourceFile, result: BatchResult) -> SourceFile | None:
        """Keep the complete lines before the damage in a corrupt gzip object."""
        target = f.path.with_name(f.path.name + ".salvaged")
        s = salvage_gzip(f.path, target)
        if s.lines == 0 and not s.partial_tail:
            return None
        self.session.run("line/objects_relink.sql", {"new": str(target), "old": str(f.path)})
        if s.partial_tail:
            self.session.run(
                "line/add_unreadable_line.sql",
                {"line": s.partial_tail.decode("utf-8", "replace"), "local_file": str(target),
                 "reason": "incomplete line at the end of a corrupt gzip stream"},
            )  # fmt: skip
        result.files_rejected.append(
            {"key": f.key, "reason": f"{s.error}: kept the {s.lines} complete line(s) before the damage"}
        )
        return dataclasses.replace(f, path=target)

    def _read(self, members: list[SourceFile], compression: str) -> None:
        self.scanned = True
        self.session.run(
            "line/read_lines.sql",
            {"files": [str(f.path) for f in members], "delim": LINE_DELIMITER,
             "compression": compression, "max_line_size": MAX_LINE_BYTES},
        )  # fmt: skip
