"""N synthetic copies of the answer, through the table path: what `bench_knowledge_scale.py` builds and what the
tests use as a second answer added as rows only.

A copy k (2 … N) of every row the tables define gets the term's IRI with `Copy{k}` appended, its label with
" (synthetic copy k)" appended, and every reference to a term the tables define renamed the same way. So each
copy is a whole answer of its own (its conditions, interventions, statements, doses), disjoint from the others.
The sources and quotes are copied too (a label's scope is its product form). What is shared stays shared: the
vocabulary (core.ttl), the organizations and source kinds, and the claim texts, which must stay spans of the
seed. The copies are test data in a temporary copy of ontology/, never in the shipped tables, and say so on
every copied term that has a comment column.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import rdflib
from rdflib.namespace import RDFS

from kg.resources import ontology_dir

#: the tables whose rows are copied (organizations and source kinds are shared by every copy)
COPIED = (
    "conditions/conditions.tsv",
    "interventions/interventions.tsv",
    "sources/sources.tsv",
    "sources/quotes.tsv",
    "statements/statements.tsv",
    "statements/dose-specifications.tsv",
)
STATEMENTS = "statements/statements.tsv"
#: the tables of terms a statement names, where a copy's own vocabulary subclasses go
TERM_TABLES = ("conditions/conditions.tsv", "interventions/interventions.tsv")
TKG = "https://w3id.org/therapy-kg/"
SYNTHETIC_NOTE = "Synthetic copy {k} of the answer, for benchmarks and tests; not clinical knowledge."
COMMENT_COLUMNS = ("comment", "modelling assumption or note")


def copied_ontology(target: Path, copies: int, source: Path | None = None, *, own_vocabulary: bool = False) -> Path:
    """`source` (default: the shipped ontology/) copied into `target`/ontology with `copies` answers in it
    (the original and copies - 1 synthetic ones); returns the new ontology folder.

    With `own_vocabulary`, each copy also gets its own subclass of every vocabulary class that a statement
    names and a copied term falls under (`tkg:NonPharmacologicalIntervention`): otherwise a copy's claim
    about that shared class reaches every answer's patients, as the original's does, and a patient's facts
    touch every answer. The scale benchmark measures "a patient whose facts touch one answer" this way.
    """
    folder = target / "ontology"
    shutil.copytree(source or ontology_dir(), folder)
    tables = {name: _read(folder / "templates" / name) for name in COPIED}
    vocabulary = _vocabulary_rows(folder, tables) if own_vocabulary else {}
    defined = {row[0] for rows in tables.values() for row in rows[2:]}
    defined |= {row[0] for rows in vocabulary.values() for row in rows}
    for name, rows in tables.items():
        header = rows[0]
        label = header.index("label")
        comment = next((header.index(c) for c in COMMENT_COLUMNS if c in header), None)
        added = []
        for k in range(2, copies + 1):
            for row in rows[2:]:
                copy = [_renamed(cell, defined, k) for cell in row]
                copy[label] = f"{row[label]} (synthetic copy {k})"
                if comment is not None:
                    copy[comment] = SYNTHETIC_NOTE.format(k=k)
                added.append(copy)
            for row in vocabulary.get(name, []):  # `XCopy{k}` under `X` itself
                added.append([_renamed(row[0], defined, k), *row[1:]])
                added[-1][label] = f"{row[label]} (synthetic copy {k})"
        _write(folder / "templates" / name, rows + added)
    return folder


def _vocabulary_rows(folder: Path, tables: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """By term table: a row for each vocabulary class (core.ttl) that the statements name and a term of that
    table falls under, with the class as its own parent; each copy k adds it as `XCopy{k}` ⊑ `X`."""
    core = rdflib.Graph().parse(folder / "components" / "core.ttl")
    named = {value for row in tables[STATEMENTS][2:] for cell in row for value in cell.split("|")}
    found: dict[str, list[list[str]]] = {}
    for name in TERM_TABLES:
        header, template, *terms = tables[name]
        parent = template.index("SC %")
        for term in sorted({row[parent] for row in terms} & named - {row[0] for row in terms}):
            row = [""] * len(header)
            row[0], row[1], row[parent] = term, "owl:Class", term
            row[header.index("label")] = str(core.value(rdflib.URIRef(TKG + term.removeprefix("tkg:")), RDFS.label))
            row[header.index("definition")] = "A vocabulary class of one synthetic copy of the answer."
            found.setdefault(name, []).append(row)
    return found


def _renamed(cell: str, defined: set[str], k: int) -> str:
    return "|".join(f"{value}Copy{k}" if value in defined else value for value in cell.split("|"))


def _read(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write(path: Path, rows: list[list[str]]) -> None:
    path.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
