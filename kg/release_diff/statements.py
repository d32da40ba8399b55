"""The clinical statements one release adds, removes and changes, each with what changed in it: the view of a
release a guideline committee reads before the axioms.

A statement is a node with a claim text (`tkg:claimText`). Its content is every triple it is the subject of,
and the triples of the dose specifications it names, so a changed dose is a change of its regimen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import rdflib

from kg.errors import InputError
from kg.ontology.prefixes import PREFIXES, TABLE_PREFIXES
from kg.store.terms import TermResolver

CLAIM_TEXT = rdflib.URIRef(PREFIXES["tkg"] + "claimText")
DOSE_SPECIFICATION = rdflib.URIRef(PREFIXES["tkg"] + "hasDoseSpecification")


@dataclass(frozen=True)
class Change:
    """One property of a statement (or of one of its dose specifications, `part`) whose values differ."""

    part: str
    property: str
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass
class StatementDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[Change]] = field(default_factory=dict)


def statement_diff(old: rdflib.Graph, new: rdflib.Graph) -> StatementDiff:
    before, after = _statements(old), _statements(new)
    diff = StatementDiff(sorted(after - before), sorted(before - after))
    for statement in sorted(before & after):
        changes = _changes(statement, old, new)
        if changes:
            diff.changed[statement] = changes
    return diff


def _statements(graph: rdflib.Graph) -> set[str]:
    return {curie(s) for s in graph.subjects(CLAIM_TEXT, None) if isinstance(s, rdflib.URIRef)}


def _changes(statement: str, old: rdflib.Graph, new: rdflib.Graph) -> list[Change]:
    subject = expand(statement)
    parts = {statement: subject} | {
        curie(d): d for g in (old, new) for d in g.objects(subject, DOSE_SPECIFICATION) if isinstance(d, rdflib.URIRef)
    }
    changes = []
    for name, node in sorted(parts.items()):
        properties = set(old.predicates(node)) | set(new.predicates(node))
        for prop in sorted(properties, key=str):
            was = tuple(sorted(_shown(o) for o in old.objects(node, prop)))
            now = tuple(sorted(_shown(o) for o in new.objects(node, prop)))
            if was != now:
                changes.append(Change(name, curie(prop), was, now))
    return changes


def _shown(node: rdflib.term.Node) -> str:
    if isinstance(node, rdflib.URIRef):
        return curie(node)
    if isinstance(node, rdflib.Literal):
        return str(node)
    return "(a class expression)"


@lru_cache(maxsize=1)
def _terms() -> TermResolver:
    return TermResolver(TABLE_PREFIXES)


def curie(iri: rdflib.term.Node) -> str:
    """`tkg:Stroke` for the IRI of a term of a known prefix, else the IRI (the project's `TermResolver`)."""
    return _terms().compress(str(iri))


def expand(name: str) -> rdflib.URIRef:
    """The IRI of a CURIE or IRI; text that is neither is given back as it is (a diff names terms and text)."""
    try:
        return rdflib.URIRef(_terms().expand(name, field="term"))
    except InputError:
        return rdflib.URIRef(name)
