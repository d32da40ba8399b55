"""Read the edit file and its imported components through the Protégé catalog, naming file:line on errors.

A component with a folder of tables (`templates/<component>/*.tsv`, ROBOT templates: `kg.ontology.templates`)
is compiled from them: its Turtle file (`components/<component>.ttl`) is then generated from the tables by
`therapy-kg components` for Protégé, and never read by the build. Tables are compiled against the vocabulary
of the Turtle components (core.ttl), and every table problem of a build is reported at once.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from kg.errors import SourceFileError
from kg.ontology.seed import CLAIM_TEXT, SEED_FILE, seed_text
from kg.ontology.templates import Problem, TemplateError, check_references, compile_tables

EDIT_FILE = "therapy-kg-edit.ttl"
TEMPLATES_DIR = "templates"
SPAN_RULE = f"is not a span of the seed ({SEED_FILE}, its citation digits left out)"
CATALOG_FILE = "catalog-v001.xml"
CATALOG_NS = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"


@dataclass(frozen=True)
class SourceGraph:
    """The merged asserted graph and the files it was read from (edit file first)."""

    graph: rdflib.Graph
    files: tuple[Path, ...]
    ontology_iri: rdflib.URIRef
    #: where each term compiled from a table is written: (table, spreadsheet row)
    table_rows: dict[rdflib.URIRef, tuple[Path, int]] = field(default_factory=dict)

    def locate(self, iri: str) -> str | None:
        """`table row N` or `file:line` where `iri` is first written as a subject, for error messages."""
        row = self.table_rows.get(rdflib.URIRef(iri))
        if row is not None:
            return f"{row[0]} row {row[1]}"
        return locate_subject(self.files, iri)


def read_catalog(ontology_dir: Path) -> dict[str, Path]:
    """Map ontology IRIs to local files, as Protégé does with catalog-v001.xml."""
    path = ontology_dir / CATALOG_FILE
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise SourceFileError(str(path), f"cannot read the catalog: {exc}") from exc
    return {el.get("name", ""): ontology_dir / el.get("uri", "") for el in root.iter(f"{CATALOG_NS}uri")}


def parse_turtle(path: Path, graph: rdflib.Graph | None = None) -> rdflib.Graph:
    """Parse one Turtle file; a syntax error names the file and line."""
    graph = graph if graph is not None else rdflib.Graph()
    try:
        graph.parse(path, format="turtle")
    except FileNotFoundError as exc:
        raise SourceFileError(str(path), "file not found") from exc
    except Exception as exc:  # rdflib raises BadSyntax and a few other parser errors
        line = getattr(exc, "lines", None)
        why = getattr(exc, "_why", None) or str(exc).splitlines()[0]
        raise SourceFileError(str(path), f"Turtle syntax error: {why}", line + 1 if line is not None else None) from exc
    return graph


def template_tables(ontology_dir: Path, component: Path) -> list[Path] | None:
    """The tables a component is compiled from (`templates/<its file stem>/*.tsv`), or None if it has none."""
    folder = ontology_dir / TEMPLATES_DIR / component.stem
    return sorted(folder.glob("*.tsv")) if folder.is_dir() else None


def read_sources(ontology_dir: Path) -> SourceGraph:
    """Read the edit file and, transitively, every owl:imports it resolves through the catalog; compile the
    components that have tables."""
    catalog = read_catalog(ontology_dir)
    edit_path = ontology_dir / EDIT_FILE
    merged = rdflib.Graph()
    files: list[Path] = []
    from_tables: list[tuple[str, Path, list[Path]]] = []
    pending = [edit_path]
    done: set[Path] = set()
    ontology_iri = None
    while pending:
        path = pending.pop(0)
        if path in done:
            continue
        done.add(path)
        part = parse_turtle(path)
        files.append(path)
        if ontology_iri is None:
            ontology_iri = next(part.subjects(RDF.type, OWL.Ontology), None)
        for imported in part.objects(None, OWL.imports):
            target = catalog.get(str(imported))
            if target is None:
                raise SourceFileError(str(path), f"owl:imports <{imported}> has no entry in {CATALOG_FILE}")
            tables = template_tables(ontology_dir, target)
            if tables is not None:
                from_tables.append((str(imported), target, tables))
                done.add(target)
            else:
                pending.append(target)
        merged += part
    if ontology_iri is None:
        raise SourceFileError(str(edit_path), "no owl:Ontology header")
    table_rows = _compile_components(merged, from_tables, seed_text(ontology_dir))
    return SourceGraph(merged, tuple(files), rdflib.URIRef(str(ontology_iri)), table_rows)


def _compile_components(
    merged: rdflib.Graph, from_tables: list[tuple[str, Path, list[Path]]], seed: str | None
) -> dict[rdflib.URIRef, tuple[Path, int]]:
    """Compile each table-backed component into `merged` (the Turtle read so far is the vocabulary); every
    claim text must be a span of the seed, where the sources ship one."""
    vocabulary = rdflib.Graph()
    vocabulary += merged
    rows: dict[rdflib.URIRef, tuple[Path, int]] = {}
    problems = []
    compiled_parts = []
    for iri, _, tables in from_tables:
        compiled = compile_tables(tables, vocabulary, defined=rows)
        problems += compiled.problems
        merged += component_header(rdflib.URIRef(iri))
        merged += compiled.graph
        rows.update(compiled.rows)
        compiled_parts.append(compiled)
    for compiled in compiled_parts:  # once every table is in: references across tables and components
        problems += check_references(compiled, merged)
        if seed is not None:
            problems += [
                Problem(cell.path, cell.row, cell.column.name, cell.value, SPAN_RULE)
                for cell in compiled.literals
                if str(cell.column.property) == CLAIM_TEXT and cell.value not in seed
            ]
    if problems:
        raise TemplateError(sorted(problems, key=lambda p: (str(p.path), p.row)))
    return rows


def component_header(iri: rdflib.URIRef) -> rdflib.Graph:
    """A component's ontology header, as its generated Turtle file has it."""
    header = rdflib.Graph()
    header.add((iri, RDF.type, OWL.Ontology))
    header.add((iri, RDFS.label, rdflib.Literal(f"therapy-kg {iri.rsplit('/', 1)[-1]} component", lang="en")))
    return header


def locate_subject(files: tuple[Path, ...] | list[Path], iri: str) -> str | None:
    """Find the first line that starts a Turtle subject block for `iri` (full IRI or tkg: CURIE)."""
    candidates = [f"<{iri}>"]
    if iri.startswith("https://w3id.org/therapy-kg/"):
        candidates.append("tkg:" + iri.removeprefix("https://w3id.org/therapy-kg/"))
    patterns = [re.compile(r"^\s*" + re.escape(c) + r"(\s|$)") for c in candidates]
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, start=1):
            if any(p.match(line) for p in patterns):
                return f"{path}:{number}"
    return None
