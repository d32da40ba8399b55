"""Put the release graph into a store: the committed release (build once, load many), or a fresh build.

`serve`, `evaluate` and `explain` load `ontology/therapy-kg.ttl` as committed: no Java, no SSSOM
parse, no HermiT at start. `make release` writes it from the edit file and its components, and a
test checks that a fresh build is byte-identical to it, so what is served is what the sources say.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from kg.resources import release_file
from kg.store import InProcessStore, open_in_process_store

if TYPE_CHECKING:
    from kg.ontology.build import BuildResult


def release_ntriples(result: BuildResult) -> bytes:
    return result.graph.serialize(format="nt", encoding="utf-8")


def release_file_ntriples(release: Path | None = None) -> bytes:
    """The committed release file (or `release`) as N-Triples."""
    triples = ox.parse(path=release or release_file(), format=ox.RdfFormat.TURTLE)
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""  # None only when writing to a file


def embedded_store(
    result: BuildResult | None = None, release: Path | None = None, backend: str = "oxigraph"
) -> InProcessStore:
    """An in-process store holding the release graph: `result` when given (a build just made), else the
    committed release file. `backend` names the store (`oxigraph`, or `rdflib` for rdflib's own engine)."""
    if result is not None:
        data = release_ntriples(result)
    else:
        data = release_file_ntriples(release)
    store = open_in_process_store(backend)
    store.load_ntriples(data)
    return store
