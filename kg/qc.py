"""`therapy-kg check`: a ROBOT-report-style quality control of the ontology, the ODK way.

Every check is a file `queries/qc/*-violation.rq`: a SELECT that must return no rows (missing or
duplicate labels, missing definitions, header fields, statements without a source, a label
sentence scoped to the wrong product form, …). Each row becomes one problem line naming the
query, the row's values and, where it can be found, the `file:line` that writes the first IRI of
the row. SHACL shape violations are reported the same way, so one run lists every problem at once
instead of stopping at the first stage that fails, as `therapy-kg build` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox
import rdflib

from kg.errors import ShapeViolationError
from kg.ontology import mappings, shapes
from kg.ontology.sources import read_sources
from kg.resources import ontology_dir
from kg.store import OxigraphStore, Term
from kg.store import solutions as store_solutions
from kg.store.queries import NamedQuery, load_queries
from kg.store.terms import TermResolver

QC_PREFIX = "qc/"
VIOLATION_SUFFIX = "-violation"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_PLAIN = {_XSD + "string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}

Locate = Callable[[str], "str | None"]


def violation_queries(queries_dir: Path | None = None) -> list[NamedQuery]:
    """The `qc/*-violation` queries, sorted by name."""
    return [
        q
        for name, q in sorted(load_queries(queries_dir).items())
        if name.startswith(QC_PREFIX) and name.endswith(VIOLATION_SUFFIX)
    ]


def run_checks(source_dir: Path | None = None) -> list[str]:
    """Read the ontology sources (default: the shipped ontology/) and return every problem found.

    An empty list means the ontology passes. Files that cannot be read or parsed raise
    `SourceFileError` (naming file:line), as for `build`.
    """
    source_dir = Path(source_dir) if source_dir else ontology_dir()
    sources = read_sources(source_dir)
    graph = sources.graph
    graph += mappings.mapping_triples(mappings.read_mappings(source_dir))
    problems = shape_problems(graph, shapes.read_shapes(source_dir), sources.locate)
    return problems + check_graph(graph, locate=sources.locate)


def shape_problems(graph: rdflib.Graph, shapes_graph: rdflib.Graph, locate: Locate) -> list[str]:
    """SHACL violations as problem lines (`shacl: focus (file:line): path: message`)."""
    try:
        shapes.validate(graph, shapes_graph, locate=locate)
    except ShapeViolationError as exc:
        return [f"shacl: {focus}: {shape}: {message}" for focus, shape, message in exc.violations]
    return []


def check_graph(graph: rdflib.Graph, locate: Locate | None = None, queries_dir: Path | None = None) -> list[str]:
    """Run every `qc/*-violation` query over `graph`; one problem line per returned row.

    Works on the merged source graph and on a built release graph alike.
    """
    store = OxigraphStore()
    store.load_ntriples(graph.serialize(format="nt", encoding="utf-8"))
    resolver = TermResolver()
    problems = []
    for query in violation_queries(queries_dir):
        solutions = store_solutions(query.run(store))
        names = [v.value for v in solutions.variables]
        for row in solutions:
            problems.append(problem_line(query.name, zip(names, row, strict=False), resolver, locate))
    return problems


def problem_line(
    name: str, row: Iterable[tuple[str, Term | None]], resolver: TermResolver, locate: Locate | None = None
) -> str:
    """`qc/<query>: var=value … (file:line of the first IRI that is found)`.

    >>> problem_line("qc/missing-label-violation", [("entity", ox.NamedNode("https://w3id.org/therapy-kg/Stroke"))],
    ...              TermResolver())
    'qc/missing-label-violation: entity=tkg:Stroke'
    """
    values = []
    where = None
    for variable, term in row:
        if term is None:
            continue
        values.append(f"{variable}={_render(term, resolver)}")
        if where is None and locate is not None and isinstance(term, ox.NamedNode):
            where = locate(term.value)
    return f"{name}: " + " ".join(values) + (f" ({where})" if where else "")


def _render(term: Term, resolver: TermResolver) -> str:
    if isinstance(term, ox.NamedNode):
        return resolver.compress(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return f'"{term.value}"@{term.language}'
        if term.datatype.value in _PLAIN:
            return f'"{term.value}"'
        return term.value
    return str(term)
