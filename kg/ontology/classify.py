"""DL classification of the merged graph: HermiT through one explicit owlready2 World per call."""

from __future__ import annotations

import io

import rdflib
from owlready2 import World
from rdflib.namespace import OWL, RDF, RDFS

from kg.errors import ReasoningError
from kg.ontology.hermit import HermitBounds, Inferences, classify

TKG = "https://w3id.org/therapy-kg/"


def world_from_graphs(*graphs: rdflib.Graph, iri: str = "https://w3id.org/therapy-kg/reasoning") -> World:
    """A fresh owlready2 World holding the union of `graphs` (no global default_world involved).

    owl:imports are dropped: the graphs are already merged, and owlready2 would otherwise try
    to download every imported IRI.
    """
    world = World()
    merged = rdflib.Graph()
    for graph in graphs:
        merged += graph
    merged.remove((None, OWL.imports, None))
    data = io.BytesIO(merged.serialize(format="nt", encoding="utf-8"))
    world.get_ontology(iri).load(fileobj=data, format="ntriples")
    return world


def classify_graph(graph: rdflib.Graph, bounds: HermitBounds = HermitBounds()) -> Inferences:
    """Classify (the class hierarchy, no realisation); fail on inconsistency or on any unsatisfiable named class."""
    world = world_from_graphs(graph)
    try:
        inferences = classify(world, bounds, realise=False)
    finally:
        world.close()
    unsatisfiable = inferences.unsatisfiable()
    if unsatisfiable:
        raise ReasoningError("unsatisfiable class(es) (equivalent to owl:Nothing)", unsatisfiable)
    return inferences


def materialise(graph: rdflib.Graph, inferences: Inferences) -> int:
    """Add the inferred direct subclass and equivalence axioms between named classes; return how many."""
    named = set(graph.subjects(RDF.type, OWL.Class))
    added = 0
    for sub, supers in inferences.superclasses.items():
        for sup in supers:
            triple = (rdflib.URIRef(sub), RDFS.subClassOf, rdflib.URIRef(sup))
            if triple[0] in named and triple[2] in named and triple not in graph:
                graph.add(triple)
                added += 1
    for a, equivalents in inferences.equivalents.items():
        for b in equivalents:
            triple = (rdflib.URIRef(a), OWL.equivalentClass, rdflib.URIRef(b))
            if triple[0] in named and triple[2] in named and triple not in graph:
                graph.add(triple)
                added += 1
    return added
