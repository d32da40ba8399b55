"""The axioms one release adds and removes, as `robot diff` lists them: each axiom in OWL functional syntax.

Both releases are read by horned-owl, which writes one axiom per line in a fixed form, so two releases
holding the same axiom write the same line whatever their Turtle looked like. The release fingerprint
(triple count, digest) and the version annotations are left out: they change with every release and say
nothing about its content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyhornedowl
import rdflib
from rdflib.namespace import OWL, RDFS

from kg.ontology.digest import DIGEST, TRIPLE_COUNT
from kg.ontology.prefixes import PREFIXES
from kg.ontology.release_files import owl_rdf_xml

#: header annotations that differ between any two releases
_RELEASE_ONLY = (DIGEST.value, TRIPLE_COUNT.value, str(OWL.versionInfo), str(OWL.versionIRI))
_IRI = re.compile(r"<([^>]+)>|\b([A-Za-z][\w-]*):([\w.-]+)")


@dataclass(frozen=True)
class AxiomDiff:
    removed: list[str]
    added: list[str]

    @property
    def terms(self) -> set[str]:
        """The IRIs named by any changed axiom."""
        return {iri for axiom in self.removed + self.added for iri in iris(axiom)}


def axiom_diff(old: rdflib.Graph, new: rdflib.Graph) -> AxiomDiff:
    before, after = _axioms(old), _axioms(new)
    return AxiomDiff(sorted(before - after), sorted(after - before))


def _axioms(graph: rdflib.Graph) -> set[str]:
    ontology = pyhornedowl.open_ontology_from_string(owl_rdf_xml(graph), "owl")
    for prefix, namespace in PREFIXES.items():
        ontology.add_prefix_mapping(prefix, namespace)
    lines = ontology.save_to_string("ofn").splitlines()
    return {
        line.strip()
        for line in lines
        if line.startswith("    ") and not any(iri in _RELEASE_ONLY for iri in iris(line.strip()))
    }


def iris(axiom: str) -> set[str]:
    """The full IRIs an axiom line names, prefixed names expanded with the project's prefixes."""
    found = set()
    for full, prefix, local in _IRI.findall(axiom):
        if full:
            found.add(full)
        elif prefix in PREFIXES:
            found.add(PREFIXES[prefix] + local)
    return found


def labels(*graphs: rdflib.Graph) -> dict[str, str]:
    """Every labelled IRI's label, the later graph's label winning."""
    named: dict[str, str] = {}
    for graph in graphs:
        for subject, label in graph.subject_objects(RDFS.label):
            if isinstance(subject, rdflib.URIRef):
                named[str(subject)] = str(label)
    return named
