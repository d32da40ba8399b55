"""Write the release in the formats and variants an ODK release has, so Protégé, ROBOT and JSON tools each
open the format they read best.

Formats: Turtle (`.ttl`, what the store loads), RDF/XML (`.owl`), OWL functional syntax (`.ofn`) and JSON-LD
(`.jsonld`). Variants: *full* (`therapy-kg.*`: the asserted axioms and HermiT's inferences, the main release)
and *base* (`therapy-kg-base.*`: the asserted axioms only, under the base ontology IRI, for those who import
the project and classify it with their own ontology). There are no imported ontologies, so full is base plus
the classification.

RDF/XML and functional syntax are written by horned-owl (py-horned-owl) from the parsed OWL axioms, so they
are OWL 2 as an OWL library reads it, and the same release gives the same bytes. JSON-LD is written from the
graph with canonical blank-node labels and sorted members, for the same reason.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyhornedowl
import pyoxigraph as ox
import rdflib
from rdflib.namespace import OWL

from kg.resources import RELEASE_FILE

#: The release file stem of each variant (`<stem>.ttl`, `<stem>.owl`, …); the full Turtle is the main release.
FULL_STEM = Path(RELEASE_FILE).stem
BASE_STEM = f"{FULL_STEM}-base"
#: The formats, by file suffix, in the order they are written.
SUFFIXES = (".ttl", ".owl", ".ofn", ".jsonld")
NT = ox.RdfFormat.N_TRIPLES
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
TURTLE_HEADER = "# Built by `therapy-kg build` from therapy-kg-edit.ttl and its components. Do not edit by hand.\n"


@dataclass(frozen=True)
class Variant:
    """One release variant: its file stem and its graph (with its own ontology header)."""

    stem: str
    graph: rdflib.Graph

    def files(self, out_dir: Path) -> Iterator[Path]:
        for suffix in SUFFIXES:
            yield out_dir / f"{self.stem}{suffix}"


def base_header(graph: rdflib.Graph, ontology_iri: rdflib.URIRef) -> rdflib.Graph:
    """The asserted graph re-headed as the base variant: `<ontology>/base`, version IRI `<version>/base`.

    The base release is another ontology (ODK: `go-base.owl` beside `go.owl`), so that both can be open in
    one Protégé session and the catalog can tell them apart.
    """
    renamed = rdflib.Graph()
    for s, p, o in graph:
        if s == ontology_iri:
            s = base_iri(ontology_iri)
            if p == OWL.versionIRI:
                o = rdflib.URIRef(f"{o}/base")
        renamed.add((s, p, o))
    return renamed


def base_iri(ontology_iri: rdflib.URIRef) -> rdflib.URIRef:
    return rdflib.URIRef(f"{ontology_iri}/base")


def write_variant(variant: Variant, out_dir: Path, prefixes: Mapping[str, str]) -> list[Path]:
    """Write one variant in every format into `out_dir`; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    turtle, rdf_xml, functional, json_ld = variant.files(out_dir)
    turtle.write_text(TURTLE_HEADER + variant.graph.serialize(format="turtle"), encoding="utf-8")
    ontology = pyhornedowl.open_ontology_from_string(owl_rdf_xml(variant.graph), "owl")
    for prefix, namespace in prefixes.items():
        ontology.add_prefix_mapping(prefix, namespace)
    rdf_xml.write_text(ontology.save_to_string("owl"), encoding="utf-8")
    functional.write_text(ontology.save_to_string("ofn"), encoding="utf-8")
    json_ld.write_text(_json_ld(variant.graph, prefixes), encoding="utf-8")
    return [turtle, rdf_xml, functional, json_ld]


def owl_rdf_xml(graph: rdflib.Graph) -> str:
    """The graph as RDF/XML for horned-owl's reader: each subject's `rdf:type` triples before its others.

    horned-owl's RDF reader reads an ontology header's `owl:versionIRI` only after the header's
    `rdf:type owl:Ontology`, and rdflib writes a subject's triples in no fixed order (found by opening the
    functional syntax with the OWL API: the version IRI was missing).
    """
    triples = [quad.triple for quad in ox.parse(graph.serialize(format="nt", encoding="utf-8"), format=NT)]
    triples.sort(key=lambda t: (str(t.subject), t.predicate != RDF_TYPE, str(t.predicate), str(t.object)))
    written = io.BytesIO()
    ox.serialize(triples, written, format=ox.RdfFormat.RDF_XML)
    return written.getvalue().decode("utf-8")


def _json_ld(graph: rdflib.Graph, prefixes: Mapping[str, str]) -> str:
    """Compact JSON-LD with the project's prefixes as context, the same text for the same graph."""
    document = _labelled_in_turtle_order(graph).serialize(format="json-ld", context=dict(prefixes), auto_compact=True)
    return json.dumps(_sorted(json.loads(document)), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _labelled_in_turtle_order(graph: rdflib.Graph) -> rdflib.Graph:
    """The graph with its blank nodes named `b0`, `b1`, … in order of first use in its Turtle text.

    rdflib names blank nodes at random, and its canonical labelling can merge blank nodes that look alike
    (it did on the Protégé examples); the Turtle writer's output is already the same text for the same graph,
    so the order of first use in it is a stable name.
    """
    turtle = graph.serialize(format="turtle", encoding="utf-8")
    labels: dict[str, rdflib.BNode] = {}

    def term(node: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> rdflib.term.Node:
        if isinstance(node, ox.BlankNode):
            return labels.setdefault(node.value, rdflib.BNode(f"b{len(labels)}"))
        if isinstance(node, ox.NamedNode):
            return rdflib.URIRef(node.value)
        if isinstance(node, ox.Literal):
            if node.language:
                return rdflib.Literal(node.value, lang=node.language)
            datatype = None if node.datatype.value == XSD_STRING else rdflib.URIRef(node.datatype.value)
            return rdflib.Literal(node.value, datatype=datatype)
        raise ValueError(f"a release holds no RDF-star triple term: {node}")

    labelled = rdflib.Graph()
    for quad in ox.parse(turtle, format=ox.RdfFormat.TURTLE):
        labelled.add((term(quad.subject), term(quad.predicate), term(quad.object)))
    return labelled


def _sorted(node: object, ordered: bool = False) -> object:
    """Sort every JSON-LD array but `@list` values (an RDF graph's members have no order; a list's do)."""
    if isinstance(node, dict):
        return {key: _sorted(value, ordered=key == "@list") for key, value in node.items()}
    if isinstance(node, list):
        members = [_sorted(member) for member in node]
        if ordered:
            return members
        return sorted(members, key=lambda member: json.dumps(member, sort_keys=True, ensure_ascii=False))
    return node
