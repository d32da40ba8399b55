"""The population table: one row per patient, indication and option, for SQL engines and dataframes.

Columns: patient, indication, intervention, status, line, preferred, statements (the IRIs of the statements
the status rests on, deciding ones first), missing_information (whether a question of the evaluation affects
this option). Parquet (pyarrow) by default, CSV on request (statements joined by spaces).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, NamedTuple

from kg.errors import InputError

TABLE_FORMATS = ("parquet", "csv")
COLUMNS = ("patient", "indication", "intervention", "status", "line", "preferred", "statements", "missing_information")
#: Rows held before they are written out as one Parquet row group.
ROW_GROUP = 16_384


class OptionRow(NamedTuple):
    """One row of the table but its patient: what a fact pattern gives every patient who has it."""

    indication: str | None
    intervention: str
    status: str
    line: int | None
    preferred: bool
    statements: list[str]
    missing_information: bool


def option_values(document: dict[str, Any]) -> tuple[OptionRow, ...]:
    """The table's rows of one evaluation document, without the patient (none for a record that was refused)."""
    asked = {
        (a.get("indication"), a.get("intervention"))
        for question in document.get("missing_information", [])
        for a in question.get("affects", [])
    }
    rows = []
    for option in document.get("options", []):
        indication = (option.get("indication") or {}).get("term")
        rows.append(
            OptionRow(
                indication,
                option["intervention"],
                option["status"],
                option.get("line"),
                bool(option.get("preferred")),
                [r["statement"] for r in option.get("reasons", [])],
                (indication, option["intervention"]) in asked,
            )
        )
    return tuple(rows)


class TableWriter:
    """Writes rows as they come, in row groups: memory holds at most ROW_GROUP rows, column by column."""

    def __init__(self, folder: Path, table_format: str) -> None:
        if table_format not in TABLE_FORMATS:
            raise InputError(f"unknown table format {table_format!r}; use one of: {', '.join(TABLE_FORMATS)}")
        self.path = folder / f"table.{table_format}"
        self.format = table_format
        self.patients: list[str] = []
        self.rows: list[OptionRow] = []
        self._writer: Any = None
        if table_format == "csv":
            self._stream = self.path.open("w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._stream)
            self._csv.writerow(COLUMNS)

    def add(self, patient: str, rows: tuple[OptionRow, ...]) -> None:
        if not rows:
            return
        self.patients += [patient] * len(rows)
        self.rows += rows
        if len(self.rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.format == "csv":
            self._csv.writerows(
                (patient, *row[:5], " ".join(row.statements), row.missing_information)
                for patient, row in zip(self.patients, self.rows, strict=True)
            )
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            columns = list(zip(*self.rows, strict=True)) if self.rows else [()] * len(OptionRow._fields)
            schema = _schema()
            arrays = [pa.array(v, type=f.type) for v, f in zip([self.patients, *columns], schema, strict=True)]
            table = pa.Table.from_arrays(arrays, schema=schema)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table)
        self.patients, self.rows = [], []

    def close(self) -> Path:
        if self.rows or self.format == "parquet" and self._writer is None:  # no row at all: still a table
            self._flush()
        if self.format == "csv":
            self._stream.close()
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
