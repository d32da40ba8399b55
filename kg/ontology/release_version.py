"""The release's version: the version its author wrote, with what the release says appended to it.

The edit file's `owl:versionInfo` ("0.1.0") is the author's; every build appends the first twelve hex
digits of the digest of the release's content as SemVer build metadata ("0.1.0+3f9a2c41b7e0"), on
`owl:versionInfo` and `owl:versionIRI` alike. So an answer's `knowledge_version` names the knowledge it
was given by: two builds of edited tables never answer under the same name, and the same sources always
give the same version (issue 23 item 3). The content left out of the digest is the header's own release
annotations (the version and the fingerprint), which would otherwise name themselves.
"""

from __future__ import annotations

import pyoxigraph as ox
import rdflib
from rdflib.namespace import OWL

from kg.ontology.digest import DIGEST, TRIPLE_COUNT, fingerprint

#: How many hex digits of the content digest name a release (48 bits: no two releases of one project meet).
CONTENT_DIGITS = 12
_RELEASE_ANNOTATIONS = frozenset(
    ox.NamedNode(iri) for iri in (str(OWL.versionInfo), str(OWL.versionIRI), DIGEST.value, TRIPLE_COUNT.value)
)


def content_id(graph: rdflib.Graph, ontology_iri: rdflib.URIRef) -> str:
    """The first `CONTENT_DIGITS` hex digits of the digest of `graph` without its header's release annotations."""
    header = ox.NamedNode(str(ontology_iri))
    quads = ox.parse(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    content = (q.triple for q in quads if not (q.subject == header and q.predicate in _RELEASE_ANNOTATIONS))
    _count, digest = fingerprint(content)
    return digest.removeprefix("sha256:")[:CONTENT_DIGITS]


def released(authored: str, content: str) -> str:
    """The release's name: the authored version with `content` as its build metadata (an authored `+…` is replaced).

    >>> released("0.1.0", "3f9a2c41b7e0"), released("0.1.0+draft", "3f9a2c41b7e0")
    ('0.1.0+3f9a2c41b7e0', '0.1.0+3f9a2c41b7e0')
    >>> released("https://w3id.org/therapy-kg/ontology/0.1.0", "3f9a2c41b7e0")
    'https://w3id.org/therapy-kg/ontology/0.1.0+3f9a2c41b7e0'
    """
    return f"{authored.split('+', 1)[0]}+{content}"


def stamp_version(graphs: tuple[rdflib.Graph, ...], ontology_iri: rdflib.URIRef, content: str) -> None:
    """Append `content` to the authored `owl:versionInfo` and `owl:versionIRI` of `ontology_iri` in each graph."""
    for graph in graphs:
        for p in (OWL.versionInfo, OWL.versionIRI):
            authored = graph.value(ontology_iri, p)
            if authored is None:
                continue
            graph.remove((ontology_iri, p, authored))
            kind = rdflib.URIRef if isinstance(authored, rdflib.URIRef) else rdflib.Literal
            graph.add((ontology_iri, p, kind(released(str(authored), content))))
