"""Open one side of a release diff: a release file as committed, a folder holding one, or ontology sources.

A release file is loaded as the service loads it (no Java). Ontology sources (a folder with
`therapy-kg-edit.ttl`) are built first, which classifies them with HermiT, so a working copy can be
compared with the last release before it is released.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import rdflib
from rdflib.namespace import OWL, RDF

from kg.errors import InputError
from kg.ontology.build import build
from kg.resources import RELEASE_FILE, ontology_dir
from kg.service import TherapyKG
from kg.store.release import embedded_store

EDIT_FILE = "therapy-kg-edit.ttl"
CODE_SYSTEMS = "code-systems.tsv"


@dataclass(frozen=True)
class OpenedRelease:
    """One side of the comparison: where it came from, what it says it is, its graph and a service on it."""

    path: Path
    version: str
    version_iri: str
    graph: rdflib.Graph
    service: TherapyKG


def open_release(path: Path) -> OpenedRelease:
    """The release at `path`: a release file, a folder holding `therapy-kg.ttl`, or a source folder."""
    if path.is_dir() and (path / EDIT_FILE).is_file():
        result = build(path)
        return _opened(path, result.graph, TherapyKG(embedded_store(result), source_dir=path))
    release = path / RELEASE_FILE if path.is_dir() else path
    if not release.is_file():
        raise InputError.at(
            str(path), f"is neither a release file, a folder holding {RELEASE_FILE} nor one holding {EDIT_FILE}"
        )
    try:
        graph = rdflib.Graph().parse(release, format="turtle")
    except (SyntaxError, ValueError) as exc:
        raise InputError.at(str(release), f"cannot be read as a Turtle release: {exc}") from exc
    codes = release.parent if (release.parent / CODE_SYSTEMS).is_file() else ontology_dir()
    return _opened(path, graph, TherapyKG(embedded_store(release=release), source_dir=codes))


def _opened(path: Path, graph: rdflib.Graph, service: TherapyKG) -> OpenedRelease:
    headers = list(graph.subjects(RDF.type, OWL.Ontology))
    if len(headers) != 1:
        raise InputError.at(str(path), f"holds {len(headers)} ontology headers; a release has one")
    header = headers[0]
    return OpenedRelease(
        path,
        str(graph.value(header, OWL.versionInfo) or ""),
        str(graph.value(header, OWL.versionIRI) or header),
        graph,
        service,
    )
