"""What the running app holds: built once at start-up from the settings, shared read-only by requests."""

from __future__ import annotations

from dataclasses import dataclass

from api.settings import Settings
from kg.ontology.hermit import HermitBounds
from kg.service import TherapyKG
from kg.store import Store


@dataclass
class AppState:
    settings: Settings
    store: Store
    service: TherapyKG


def load_state(settings: Settings) -> AppState:
    """Load the committed release into the embedded store (no Java needed), or connect to the remote endpoint."""
    from kg.store import RemoteSparqlStore
    from kg.store.release import embedded_store

    bounds = HermitBounds(timeout_s=settings.reasoner_timeout_s, memory_mb=settings.reasoner_memory_mb)
    if settings.sparql_endpoint:
        store: Store = RemoteSparqlStore(settings.sparql_endpoint, timeout=settings.query_timeout_s)
    else:
        store = embedded_store()
    return AppState(settings, store, TherapyKG(store, bounds=bounds))
