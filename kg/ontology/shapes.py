"""SHACL validation of the merged graph against ontology/shapes/ (pySHACL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import rdflib
from rdflib.namespace import SH

from kg.errors import ShapeViolationError
from kg.ontology.sources import parse_turtle

SHAPES_DIR = "shapes"


def read_shapes(ontology_dir: Path) -> rdflib.Graph:
    shapes = rdflib.Graph()
    for path in sorted((ontology_dir / SHAPES_DIR).glob("*.ttl")):
        parse_turtle(path, shapes)
    return shapes


def validate(graph: rdflib.Graph, shapes: rdflib.Graph, locate: Callable[[str], str | None] = lambda iri: None) -> None:
    """Raise ShapeViolationError listing focus node (with file:line), shape path and message."""
    from pyshacl import validate as shacl_validate

    conforms, report, _text = shacl_validate(graph, shacl_graph=shapes, inference="none", advanced=True)
    if conforms:
        return
    violations = []
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        focus = str(report.value(result, SH.focusNode))
        path = report.value(result, SH.resultPath)
        shape = report.value(result, SH.sourceShape)
        message = report.value(result, SH.resultMessage)
        where = locate(focus)
        focus_text = f"{focus} ({where})" if where else focus
        shape_text = f"path {path.n3(graph.namespace_manager)}" if path is not None else f"shape {shape}"
        violations.append((focus_text, shape_text, str(message)))
    raise ShapeViolationError(sorted(violations))
