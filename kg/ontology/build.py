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
from kg.ontology.prefixes import PREFIXES
from kg.ontology.release_catalog import point_catalog_at
from kg.ontology.release_files import BASE_STEM, FULL_STEM, Variant, base_header, base_iri, write_variant
from kg.ontology.release_version import content_id, stamp_version
from kg.ontology.sources import read_sources
from kg.resources import ontology_dir as default_ontology_dir


@dataclass
class BuildResult:
    graph: rdflib.Graph
    ontology_iri: str
    version: str
    inferred_axioms: int
    #: the base variant: the asserted axioms only, under the base ontology IRI (`kg.ontology.release_files`)
    base: rdflib.Graph
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

    asserted = rdflib.Graph()
    asserted += graph
    inferred = 0
    if reason:
        t = time.perf_counter()
        inferred = materialise(graph, classify_graph(graph, bounds))
        timings["reason"] = time.perf_counter() - t

    release = _release_graph(graph, sources.ontology_iri)
    stamp_version((release, asserted), sources.ontology_iri, content_id(release, sources.ontology_iri))
    base = _release_graph(base_header(asserted, sources.ontology_iri), base_iri(sources.ontology_iri))
    for variant, header in ((release, sources.ontology_iri), (base, base_iri(sources.ontology_iri))):
        _stamp_fingerprint(variant, header)
    timings["total"] = time.perf_counter() - t0
    version = str(release.value(sources.ontology_iri, OWL.versionInfo) or "")
    return BuildResult(release, str(sources.ontology_iri), version, inferred, base, timings)


def _release_graph(graph: rdflib.Graph, ontology_iri: rdflib.URIRef) -> rdflib.Graph:
    """One ontology header (the edit file's), no imports, component headers dropped."""
    release = bind_prefixes(rdflib.Graph())
    components = {s for s in graph.subjects(RDF.type, OWL.Ontology) if s != ontology_iri}
    for s, p, o in graph:
        if s in components or p == OWL.imports:
            continue
        release.add((s, p, o))
    return release


def _stamp_fingerprint(release: rdflib.Graph, ontology_iri: rdflib.URIRef) -> None:
    """Write the release's triple count and digest (`kg.ontology.digest`) on its header."""
    triples = ox.parse(release.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    count, digest = fingerprint(q.triple for q in triples)
    release.add((ontology_iri, rdflib.URIRef(TRIPLE_COUNT.value), rdflib.Literal(count)))
    release.add((ontology_iri, rdflib.URIRef(DIGEST.value), rdflib.Literal(digest)))


def write_release(result: BuildResult, out_dir: Path) -> list[Path]:
    """Write the release into `out_dir`, full and base, in every format, and point the catalog there (if any)
    at their version IRIs; the first path is the main release (`RELEASE_FILE`, the full Turtle the store loads)."""
    written = write_variant(Variant(FULL_STEM, result.graph), out_dir, PREFIXES)
    written += write_variant(Variant(BASE_STEM, result.base), out_dir, PREFIXES)
    version_iris = {
        f"{stem}.ttl": (str(header), str(graph.value(header, OWL.versionIRI)))
        for stem, graph, header in (
            (FULL_STEM, result.graph, rdflib.URIRef(result.ontology_iri)),
            (BASE_STEM, result.base, base_iri(rdflib.URIRef(result.ontology_iri))),
        )
    }
    catalog = point_catalog_at(out_dir, version_iris)
    return written + ([catalog] if catalog else [])
