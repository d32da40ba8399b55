"""`therapy-kg build`: parse, add mappings, SHACL-validate, classify with HermiT, write the release.

The release graph is what every other part reads (the embedded store, the engines, SPARQL), so
it is built the same way at API start-up and on the command line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.namespace import OWL, RDF

from kg.ontology import mappings, shapes
from kg.ontology.classify import classify_graph, materialise
from kg.ontology.digest import DIGEST, TRIPLE_COUNT, fingerprint
from kg.ontology.hermit import HermitBounds
from kg.ontology.sources import read_sources
from kg.resources import RELEASE_FILE
from kg.resources import ontology_dir as default_ontology_dir

PREFIXES = {
    "tkg": "https://w3id.org/therapy-kg/",
    "obo": "http://purl.obolibrary.org/obo/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "owl": str(OWL),
    "SCTID": "http://snomed.info/id/",
    "RXNORM": "http://purl.bioontology.org/ontology/RXNORM/",
    "ATC": "http://purl.bioontology.org/ontology/ATC/",
    "ICD10CM": "http://purl.bioontology.org/ontology/ICD10CM/",
}


@dataclass
class BuildResult:
    graph: rdflib.Graph
    ontology_iri: str
    version: str
    inferred_axioms: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def triple_count(self) -> int:
        return len(self.graph)


def bind_prefixes(graph: rdflib.Graph) -> rdflib.Graph:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True)
    return graph


def build(
    source_dir: Path | None = None,
    *,
    reason: bool = True,
    bounds: HermitBounds = HermitBounds(),
) -> BuildResult:
    """Build the release graph in memory from `source_dir` (default: the shipped ontology/)."""
    source_dir = Path(source_dir) if source_dir else default_ontology_dir()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    sources = read_sources(source_dir)
    graph = sources.graph
    timings["parse"] = time.perf_counter() - t0

    t = time.perf_counter()
    graph += mappings.mapping_triples(mappings.read_mappings(source_dir))
    timings["mappings"] = time.perf_counter() - t

    t = time.perf_counter()
    shapes.validate(graph, shapes.read_shapes(source_dir), locate=sources.locate)
    timings["shacl"] = time.perf_counter() - t

    inferred = 0
    if reason:
        t = time.perf_counter()
        inferred = materialise(graph, classify_graph(graph, bounds))
        timings["reason"] = time.perf_counter() - t

    release = _release_graph(graph, sources.ontology_iri)
    timings["total"] = time.perf_counter() - t0
    version = str(release.value(sources.ontology_iri, OWL.versionInfo) or "")
    return BuildResult(release, str(sources.ontology_iri), version, inferred, timings)


def _release_graph(graph: rdflib.Graph, ontology_iri: rdflib.URIRef) -> rdflib.Graph:
    """One ontology header (the edit file's), no imports, component headers dropped."""
    release = bind_prefixes(rdflib.Graph())
    components = {s for s in graph.subjects(RDF.type, OWL.Ontology) if s != ontology_iri}
    for s, p, o in graph:
        if s in components or p == OWL.imports:
            continue
        release.add((s, p, o))
    return _stamp_fingerprint(release, ontology_iri)


def _stamp_fingerprint(release: rdflib.Graph, ontology_iri: rdflib.URIRef) -> rdflib.Graph:
    """Write the release's triple count and digest (`kg.ontology.digest`) on its header."""
    triples = ox.parse(release.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    count, digest = fingerprint(q.triple for q in triples)
    release.add((ontology_iri, rdflib.URIRef(TRIPLE_COUNT.value), rdflib.Literal(count)))
    release.add((ontology_iri, rdflib.URIRef(DIGEST.value), rdflib.Literal(digest)))
    return release


def write_release(result: BuildResult, out_dir: Path) -> Path:
    """Write the release Turtle file into `out_dir` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RELEASE_FILE
    path.write_text(
        "# Built by `therapy-kg build` from therapy-kg-edit.ttl and its components. Do not edit by hand.\n"
        + result.graph.serialize(format="turtle"),
        encoding="utf-8",
    )
    return path
