"""The SSSOM mapping table (read with the `sssom` library) and the code systems it uses.

The table is the one place mappings are edited; the build turns it into skos:exactMatch /
skos:closeMatch / skos:narrowMatch triples so SPARQL and patient-code resolution read the same data.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import curies
import rdflib

from kg.errors import SourceFileError
from kg.ontology.codes import SYNTAXES
from kg.ontology.templates import Problem, TemplateError

MAPPINGS_FILE = "mappings.sssom.tsv"
CODE_SYSTEMS_FILE = "code-systems.tsv"
ALLOWED_PREDICATES = {
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2004/02/skos/core#closeMatch",
    # the code is narrower than the term: a clinical drug (baclofen 10 mg oral tablet) of a product form
    "http://www.w3.org/2004/02/skos/core#narrowMatch",
}


@dataclass(frozen=True)
class Mapping:
    subject: str
    predicate: str
    object: str
    object_label: str
    comment: str


@dataclass(frozen=True)
class CodeSystem:
    """A terminology: its CURIE prefix, IRI prefix, FHIR `system` URI, name, and the name of its
    syntax in `kg.ontology.codes` (which strings are codes, and which codes are a code's parents)."""

    prefix: str
    uri_prefix: str
    fhir_system: str
    name: str
    syntax: str

    def __post_init__(self) -> None:
        if self.syntax not in SYNTAXES:
            raise ValueError(
                f"code system {self.prefix}: unknown syntax {self.syntax!r} (one of: {', '.join(sorted(SYNTAXES))})"
            )

    def invalid(self, code: str) -> str | None:
        """Why `code` is not a code of this system (a reason naming the system), or None.

        >>> ICD = CodeSystem("ICD10CM", "", "", "ICD-10-CM", "icd-10-cm")
        >>> ICD.invalid("G35.A") is None, ICD.invalid("G35\\u0000").split(":")[0]
        (True, 'not a valid ICD-10-CM code')
        """
        problem = SYNTAXES[self.syntax].problem(code)
        return None if problem is None else f"not a valid {self.name} code: {problem}"

    def code_and_parents(self, code: str) -> list[str]:
        """The code, then each parent code in the system's structure, most specific first. An
        invalid code is only itself: no string prefix of it is ever looked up.

        >>> CodeSystem("ICD10CM", "", "", "ICD-10-CM", "icd-10-cm").code_and_parents("G35.A")
        ['G35.A', 'G35']
        >>> CodeSystem("ICD10CM", "", "", "ICD-10-CM", "icd-10-cm").code_and_parents("I63 - history")
        ['I63 - history']
        >>> CodeSystem("SCTID", "", "", "SNOMED CT", "snomed-ct-concept-id").code_and_parents("24700007")
        ['24700007']
        """
        syntax = SYNTAXES[self.syntax]
        return [code] if syntax.problem(code) is not None else [code, *syntax.parents(code)]


def read_code_systems(ontology_dir: Path) -> list[CodeSystem]:
    path = ontology_dir / CODE_SYSTEMS_FILE
    try:
        with path.open(encoding="utf-8") as f:
            return [CodeSystem(**row) for row in csv.DictReader(f, delimiter="\t")]
    except (OSError, TypeError, ValueError) as exc:
        raise SourceFileError(str(path), f"cannot read code systems: {exc}") from exc


def read_mappings(ontology_dir: Path) -> list[Mapping]:
    """Parse and validate the SSSOM table; an invalid table names the file and row."""
    from sssom.parsers import parse_sssom_table  # heavy import (pandas, linkml): only when building
    from sssom.validators import validate

    path = ontology_dir / MAPPINGS_FILE
    try:
        msdf = parse_sssom_table(path)
    except Exception as exc:  # the sssom parser raises many kinds; all mean "this file is invalid"
        raise SourceFileError(str(path), f"invalid SSSOM table: {exc}") from exc
    problems = [str(r) for report in validate(msdf, fail_on_error=False).values() for r in report.results]
    if problems:
        raise SourceFileError(str(path), "SSSOM validation failed: " + "; ".join(problems))
    converter: curies.Converter = msdf.converter
    mappings = []
    mapped: dict[str, tuple[str, int]] = {}  # code → (term, line): a code names one term, or reading it is ambiguous
    lines = _file_lines(path)
    duplicates = []
    records = msdf.df.to_dict("records")
    records.sort(key=lambda r: lines.get((r["subject_id"], r["predicate_id"], r["object_id"]), 0))
    for row_number, row in enumerate(records, start=1):
        mapping = Mapping(
            subject=converter.expand(row["subject_id"], strict=True),
            predicate=converter.expand(row["predicate_id"], strict=True),
            object=converter.expand(row["object_id"], strict=True),
            object_label=str(row.get("object_label") or ""),
            comment=str(row.get("comment") or ""),
        )
        if mapping.predicate not in ALLOWED_PREDICATES:
            raise SourceFileError(
                str(path),
                f"mapping row {row_number}: predicate must be skos:exactMatch, skos:closeMatch or skos:narrowMatch",
            )
        line = lines.get((row["subject_id"], row["predicate_id"], row["object_id"]), row_number)
        earlier = mapped.setdefault(row["object_id"], (row["subject_id"], line))
        if earlier[1] != line and earlier[0] != row["subject_id"]:
            rule = f"is already mapped to {earlier[0]} (row {earlier[1]})"
            duplicates.append(Problem(path, line, "object_id", row["object_id"], rule))
        mappings.append(mapping)
    if duplicates:
        raise TemplateError(duplicates)
    return mappings


def _file_lines(path: Path) -> dict[tuple[str, str, str], int]:
    """The file line of each mapping (subject, predicate, object): the parsed table is not in file order."""
    lines: dict[tuple[str, str, str], int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        cells = line.split("\t")
        if not line.startswith("#") and len(cells) >= 4:
            lines.setdefault((cells[0], cells[2], cells[3]), number)
    return lines


def mapping_triples(mappings: list[Mapping]) -> rdflib.Graph:
    """The mappings as SKOS triples (subject term → code IRI)."""
    graph = rdflib.Graph()
    for m in mappings:
        graph.add((rdflib.URIRef(m.subject), rdflib.URIRef(m.predicate), rdflib.URIRef(m.object)))
    return graph
