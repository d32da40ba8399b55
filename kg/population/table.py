"""The population table: one row per patient, indication and option, for SQL engines and dataframes.

Columns: patient, indication, intervention, status, line, preferred, statements (the IRIs of the statements
the status rests on, deciding ones first), missing_information (whether a question of the evaluation affects
this option). Parquet (pyarrow) by default, CSV on request (statements joined by spaces).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kg.errors import InputError

TABLE_FORMATS = ("parquet", "csv")
COLUMNS = ("patient", "indication", "intervention", "status", "line", "preferred", "statements", "missing_information")
#: Rows held before they are written out as one Parquet row group.
ROW_GROUP = 16_384


def option_rows(patient: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    """The table's rows of one evaluation document (none for a record that was refused)."""
    asked = {
        (a.get("indication"), a.get("intervention"))
        for question in document.get("missing_information", [])
        for a in question.get("affects", [])
    }
    rows = []
    for option in document.get("options", []):
        indication = (option.get("indication") or {}).get("term")
        rows.append(
            {
                "patient": patient,
                "indication": indication,
                "intervention": option["intervention"],
                "status": option["status"],
                "line": option.get("line"),
                "preferred": bool(option.get("preferred")),
                "statements": [r["statement"] for r in option.get("reasons", [])],
                "missing_information": (indication, option["intervention"]) in asked,
            }
        )
    return rows


class TableWriter:
    """Writes rows as they come, in row groups: memory holds at most ROW_GROUP rows."""

    def __init__(self, folder: Path, table_format: str) -> None:
        if table_format not in TABLE_FORMATS:
            raise InputError(f"unknown table format {table_format!r}; use one of: {', '.join(TABLE_FORMATS)}")
        self.path = folder / f"table.{table_format}"
        self.format = table_format
        self.rows: list[dict[str, Any]] = []
        self._writer: Any = None
        if table_format == "csv":
            self._stream = self.path.open("w", newline="", encoding="utf-8")
            self._csv = csv.DictWriter(self._stream, fieldnames=COLUMNS)
            self._csv.writeheader()

    def add(self, patient: str, document: dict[str, Any]) -> None:
        self.rows += option_rows(patient, document)
        if len(self.rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.format == "csv":
            self._csv.writerows({**r, "statements": " ".join(r["statements"])} for r in self.rows)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist(self.rows, schema=_schema())
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table)
        self.rows = []

    def close(self) -> Path:
        self._flush()
        if self.format == "csv":
            self._stream.close()
        elif self._writer is None:  # no row at all: still a table, with its columns
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist([], schema=_schema()), self.path)
        else:
            self._writer.close()
        return self.path


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("patient", pa.string()),
            ("indication", pa.string()),
            ("intervention", pa.string()),
            ("status", pa.string()),
            ("line", pa.int32()),
            ("preferred", pa.bool_()),
            ("statements", pa.list_(pa.string())),
            ("missing_information", pa.bool_()),
        ]
    )
