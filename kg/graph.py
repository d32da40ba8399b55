"""Put a built release graph into a store: the embedded one, or (for tests and ops) a remote one."""

from __future__ import annotations

from kg.build import BuildResult, build
from kg.store import OxigraphStore


def release_ntriples(result: BuildResult) -> bytes:
    return result.graph.serialize(format="nt", encoding="utf-8")


def embedded_store(result: BuildResult | None = None) -> OxigraphStore:
    """An in-process Oxigraph store holding the release graph (built now when not given)."""
    result = result or build()
    store = OxigraphStore()
    store.load_ntriples(release_ntriples(result))
    return store
