"""Knowledge authored as tables: ROBOT templates (a TSV whose second row holds template strings) compiled to
RDF, with every problem named by file, row, column, value and rule, all of a build at once.

The template strings are ROBOT's (docs/template.md of ontodev/robot), the subset this project's tables use:

- `ID`: the row's term (a CURIE or an IRI in angle brackets);
- `TYPE` (optionally `SPLIT=|`): `owl:Class`, or the class of an individual (which is declared
  `owl:NamedIndividual`, as ROBOT does);
- `A p` (string), `AT p^^datatype`, `AL p@language`, `AI p` (IRI): annotations;
- `SC %`, `DC %`: a named superclass, a named disjoint class;
- `I p`: a property assertion of an individual: an object property takes a term; a data property a literal,
  typed (this project's reading, where ROBOT's documentation is silent) by the property's declared range.

- `>A`, `>AL`, `>AI`, `>AT`: an annotation of the axiom the column to the left makes (`owl:Axiom`).

Any of them may add `SPLIT=|` for several values in one cell. Which properties exist, and of which kind, is
read from the vocabulary (core.ttl), so a column naming an undeclared property is an author's error.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import rdflib
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.errors import InputError
from kg.ontology.prefixes import TABLE_PREFIXES

_SPLIT = re.compile(r"\s+SPLIT=(\S+)\s*$")
_NUMERIC = {
    XSD.decimal: Decimal,
    XSD.integer: int,
    XSD.nonNegativeInteger: int,
    XSD.positiveInteger: int,
}


@dataclass(frozen=True)
class Problem:
    """One author's error: where it is (file, spreadsheet row, column), the value and the rule it breaks."""

    path: Path
    row: int
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = f"{self.path} row {self.row}"
        if self.column is not None:
            where += f", column `{self.column}`"
        value = f"{self.value!r} " if self.value not in (None, "") else ""
        return f"{where}: {value}{self.rule}"


class TemplateError(InputError):
    """The tables cannot be compiled; `problems` lists every error found, each with file, row and column."""

    code = "input.template"
    title = "the knowledge tables have errors"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the knowledge tables"
        super().__init__(count + ":\n" + "\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # ID, TYPE, A, AT, AL, AI, SC, DC, I
    property: rdflib.URIRef | None = None
    datatype: rdflib.URIRef | None = None
    language: str | None = None
    split: str | None = None
    annotates_left: bool = False  # `>A…`: annotates the axioms of the column to its left


@dataclass
class Table:
    """One template file: its columns and its data rows (spreadsheet row number → cells)."""

    path: Path
    columns: list[Column]
    rows: list[tuple[int, list[str]]]


@dataclass(frozen=True)
class Reference:
    """A cell naming a term (a value of `TYPE`, `AI`, `SC`, `DC` or an object property's `I`), checked once
    every table is compiled: the term must exist, and be one of the property's range if that is a list."""

    path: Path
    row: int
    column: Column
    value: str
    iri: rdflib.URIRef | None


@dataclass
class Compiled:
    """What the tables compile to: the triples, where each term is written, and the problems found."""

    graph: rdflib.Graph = field(default_factory=rdflib.Graph)
    rows: dict[rdflib.URIRef, tuple[Path, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    #: the cells that gave a literal (`A`, `AL`, `AT`, a data property's `I`), for checks of their text
    literals: list[Reference] = field(default_factory=list)

    def locate(self, iri: str) -> str | None:
        found = self.rows.get(rdflib.URIRef(iri))
        return f"{found[0]} row {found[1]}" if found else None


def expand(value: str) -> rdflib.URIRef | None:
    """A CURIE of a known prefix, or `<IRI>`, as an IRI; `None` if it is neither."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">") and len(value) > 2:
        return rdflib.URIRef(value[1:-1])
    prefix, colon, local = value.partition(":")
    if colon and prefix in TABLE_PREFIXES and local and not local.startswith("//") and " " not in local:
        return rdflib.URIRef(TABLE_PREFIXES[prefix] + local)
    return None


def read_table(path: Path, vocabulary: rdflib.Graph, problems: list[Problem]) -> Table | None:
    """Read one template file; problems with its header or template row are added to `problems`."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            lines = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE, strict=True))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(Problem(path, 1, None, None, f"cannot be read as a tab-separated table: {exc}"))
        return None
    if len(lines) < 2:
        problems.append(Problem(path, 1, None, None, "needs a header row and a row of ROBOT template strings"))
        return None
    names, templates = lines[0], lines[1]
    if len(templates) != len(names):
        problems.append(Problem(path, 2, None, None, f"has {len(templates)} template strings for {len(names)} columns"))
        return None
    columns = []
    for name, template in zip(names, templates, strict=True):
        column = _column(name, template, vocabulary, path, problems)
        if column is not None:
            columns.append(column)
    if len(columns) != len(names):
        return None
    if sum(c.kind == "ID" for c in columns) != 1:
        problems.append(Problem(path, 2, None, None, "needs exactly one `ID` column"))
        return None
    rows = []
    for number, cells in enumerate(lines[2:], start=3):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            problems.append(Problem(path, number, None, None, f"has {len(cells)} cells for {len(columns)} columns"))
            continue
        rows.append((number, cells))
    return Table(path, columns, rows)


def _column(name: str, template: str, vocabulary: rdflib.Graph, path: Path, problems: list[Problem]) -> Column | None:
    split_match = _SPLIT.search(template)
    split = split_match.group(1) if split_match else None
    text = template[: split_match.start()] if split_match else template
    kind, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    axiom = kind.startswith(">") and kind[1:] in ("A", "AT", "AL", "AI")
    kind = kind[1:] if axiom else kind

    def bad(rule: str) -> None:
        problems.append(Problem(path, 2, name, template, rule))

    if kind in ("ID", "TYPE") and not rest:
        return Column(name, kind, split=split)
    if kind in ("SC", "DC") and rest == "%":
        return Column(name, kind, split=split)
    if kind in ("A", "AT", "AL", "AI", "I"):
        language = datatype = None
        if kind == "AL":
            rest, _, language = rest.partition("@")
            if not language:
                bad("a language annotation is written `AL property@language`")
                return None
        if kind == "AT":
            rest, _, typed = rest.partition("^^")
            datatype = expand(typed) if typed else None
            if datatype is None:
                bad("a typed annotation is written `AT property^^datatype`")
                return None
        prop = expand(rest)
        if prop is None:
            bad("names no property (a CURIE of a known prefix)")
            return None
        declared = set(vocabulary.objects(prop, RDF.type))
        builtin = str(prop).startswith((str(RDFS), str(RDF)))
        if kind == "I":
            if not declared & {OWL.ObjectProperty, OWL.DatatypeProperty}:
                bad("`I` needs an object or data property declared in the vocabulary (core.ttl)")
                return None
            if OWL.DatatypeProperty in declared:
                declared_range = vocabulary.value(prop, RDFS.range)
                datatype = declared_range if isinstance(declared_range, rdflib.URIRef) else XSD.string
        elif not builtin and OWL.AnnotationProperty not in declared:
            bad("names no annotation property declared in the vocabulary (core.ttl)")
            return None
        return Column(name, kind, prop, datatype, language, split, axiom)
    bad("is not a ROBOT template string this project compiles (ID, TYPE, A, AT, AL, AI, SC %, DC %, I, >A…; SPLIT=)")
    return None


def compile_tables(
    paths: Iterable[Path], vocabulary: rdflib.Graph, defined: dict[rdflib.URIRef, tuple[Path, int]] | None = None
) -> Compiled:
    """Compile the template files against `vocabulary`; every problem is collected, none raised. `defined`: the
    terms other tables already define (a second definition is a duplicate)."""
    compiled = Compiled()
    compiled.rows.update(defined or {})
    tables = [t for t in (read_table(p, vocabulary, compiled.problems) for p in paths) if t is not None]
    for table in tables:
        for number, cells in table.rows:
            _compile_row(table, number, cells, compiled)
    return compiled


def _compile_row(table: Table, number: int, cells: list[str], compiled: Compiled) -> None:
    values = dict(zip((c.name for c in table.columns), cells, strict=True))
    id_column = next(c for c in table.columns if c.kind == "ID")
    raw_id = values[id_column.name].strip()
    subject = expand(raw_id)

    def problem(column: Column | None, value: str | None, rule: str) -> None:
        compiled.problems.append(Problem(table.path, number, column.name if column else None, value, rule))

    if subject is None:
        problem(id_column, raw_id, "is not a term (a CURIE of a known prefix, or <IRI>)")
        return
    if subject in compiled.rows:
        path, row = compiled.rows[subject]
        where = f"row {row}" if path == table.path else f"{path} row {row}"
        problem(id_column, raw_id, f"is already defined ({where})")
        return
    compiled.rows[subject] = (table.path, number)
    left: list[Triple] = []  # the axioms of the last column that made any, for a `>A…` column
    for column in table.columns:
        if column.kind == "ID":
            continue
        made: list[Triple] = []
        for value in _cell_values(values[column.name], column.split):

            def report(rule: str, column: Column = column, value: str = value) -> None:
                problem(column, value, rule)

            if column.annotates_left and not left:
                report("annotates no axiom: the cell to its left is empty")
                continue
            term = expand(value) if _names_a_term(column) else None
            if _names_a_term(column):
                compiled.references.append(Reference(table.path, number, column, value, term))
                if term is None:
                    continue  # reported by `check_references`, which knows the allowed values
            elif not column.annotates_left:
                compiled.literals.append(Reference(table.path, number, column, value, None))
            for triple in _triples(subject, column, value, term, report):
                if column.annotates_left:
                    for axiom in left:
                        _annotate(compiled.graph, axiom, triple[1], triple[2])
                else:
                    compiled.graph.add(triple)
                    made.append(triple)
        if not column.annotates_left:
            left = made


def _names_a_term(column: Column) -> bool:
    return column.kind in ("TYPE", "AI", "SC", "DC") or (column.kind == "I" and column.datatype is None)


#: the project's own namespace: a term of it must be declared (an external IRI, e.g. a code, need not be)
_OWN = TABLE_PREFIXES["tkg"]


def check_references(compiled: Compiled, graph: rdflib.Graph) -> list[Problem]:
    """The problems of the cells that name terms, against the whole graph (vocabulary and every table):
    a term of the project's namespace must be declared; an object property whose range is a class of named
    individuals (the lines of therapy, the sources) takes one of them."""
    problems = []
    ranges: dict[rdflib.URIRef | None, set[rdflib.URIRef]] = {}  # by property: read once, not once per cell
    for ref in compiled.references:
        key = ref.column.property if ref.column.kind == "I" else None
        if key not in ranges:
            ranges[key] = _allowed(ref.column, graph)
        allowed = ranges[key]
        if allowed and ref.iri not in allowed:
            names = ", ".join(sorted(_curie(a).removeprefix("tkg:") for a in allowed))
            problems.append(Problem(ref.path, ref.row, ref.column.name, ref.value, f"is not one of {names}"))
        elif ref.iri is None:
            problems.append(
                Problem(
                    ref.path, ref.row, ref.column.name, ref.value, "is not a term (a CURIE of a known prefix, or <IRI>)"
                )
            )
        elif str(ref.iri).startswith(_OWN) and (ref.iri, RDF.type, None) not in graph:
            problems.append(
                Problem(ref.path, ref.row, ref.column.name, ref.value, "names a term no table or file declares")
            )
    return problems


def _allowed(column: Column, graph: rdflib.Graph) -> set[rdflib.URIRef]:
    if column.kind != "I" or column.property is None:
        return set()
    kind = graph.value(column.property, RDFS.range)
    if kind is None:
        return set()
    return {s for s in graph.subjects(RDF.type, kind) if isinstance(s, rdflib.URIRef)}


def _annotate(graph: rdflib.Graph, axiom: Triple, prop: rdflib.URIRef, value: rdflib.term.Node) -> None:
    """An OWL axiom annotation on `axiom` (one `owl:Axiom` node per annotated axiom)."""
    source, annotated, target = axiom
    node = next(
        (
            n
            for n in graph.subjects(OWL.annotatedSource, source)
            if (n, OWL.annotatedProperty, annotated) in graph and (n, OWL.annotatedTarget, target) in graph
        ),
        None,
    )
    if node is None:
        node = rdflib.BNode()
        graph.add((node, RDF.type, OWL.Axiom))
        graph.add((node, OWL.annotatedSource, source))
        graph.add((node, OWL.annotatedProperty, annotated))
        graph.add((node, OWL.annotatedTarget, target))
    graph.add((node, prop, value))


def _cell_values(cell: str, split: str | None) -> Iterator[str]:
    parts = cell.split(split) if split else [cell]
    for part in parts:
        if part.strip():
            yield part.strip()


Triple = tuple[rdflib.URIRef, rdflib.URIRef, rdflib.term.Node]


def _triples(
    subject: rdflib.URIRef, column: Column, value: str, term: rdflib.URIRef | None, report: Callable[[str], None]
) -> Iterator[Triple]:
    """The triples of one cell value; `term` is the value as a term, for the columns that name one (the caller
    has set aside a value that names none)."""
    if term is not None:
        if column.kind == "TYPE":
            yield subject, RDF.type, OWL.Class if term == OWL.Class else OWL.NamedIndividual
            if term not in (OWL.Class, OWL.NamedIndividual):
                yield subject, RDF.type, term
        elif column.kind in ("SC", "DC") or column.property is None:
            yield subject, RDFS.subClassOf if column.kind == "SC" else OWL.disjointWith, term
        else:
            yield subject, column.property, term
        return
    if column.property is None:
        return
    if column.kind == "A":
        yield subject, column.property, rdflib.Literal(value)
    elif column.kind == "AL":
        yield subject, column.property, rdflib.Literal(value, lang=column.language)
    else:  # AT, or I of a data property: a literal of the datatype
        literal = _typed(value, column.datatype)
        if literal is None:
            report(f"is not a valid {_curie(column.datatype)}")
            return
        yield subject, column.property, literal


def _typed(value: str, datatype: rdflib.URIRef | None) -> rdflib.Literal | None:
    if datatype is None:
        return rdflib.Literal(value)
    convert = _NUMERIC.get(datatype)
    if convert is None:
        return rdflib.Literal(value, datatype=datatype)
    try:
        number = convert(value)
    except (ValueError, InvalidOperation):
        return None
    if datatype in (XSD.nonNegativeInteger, XSD.positiveInteger) and number < (datatype == XSD.positiveInteger):
        return None
    return rdflib.Literal(value, datatype=datatype, normalize=True)


def _curie(iri: rdflib.URIRef | None) -> str:
    text = str(iri)
    for prefix, namespace in TABLE_PREFIXES.items():
        if text.startswith(namespace):
            return f"{prefix}:{text[len(namespace) :]}"
    return f"<{text}>"
