"""What the running app holds: built once at start-up from the settings, shared read-only by requests."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.settings import Settings
from kg.knowledge import compile_knowledge
from kg.knowledge_check import knowledge_problem
from kg.ontology.hermit import HermitBounds
from kg.service import TherapyKG
from kg.store import Store

log = logging.getLogger("therapy-kg.state")


@dataclass
class AppState:
    settings: Settings
    store: Store
    service: TherapyKG
    #: what is wrong with the store's release (`kg.knowledge_check`): every knowledge-bearing route answers 503
    knowledge_problem: str | None = None


def load_state(settings: Settings) -> AppState:
    """Load the committed release into the embedded store (no Java needed), or connect to the remote endpoint."""
    from kg.store import RemoteSparqlStore
    from kg.store.release import embedded_store

    bounds = HermitBounds(timeout_s=settings.reasoner_timeout_s, memory_mb=settings.reasoner_memory_mb)
    if not settings.sparql_endpoint:
        store = embedded_store()
        return AppState(settings, store, TherapyKG(store, bounds=bounds))
    remote: Store = RemoteSparqlStore(settings.sparql_endpoint, timeout=settings.query_timeout_s)
    release = embedded_store()  # the committed release this code was built and tested with
    problem = knowledge_problem(compile_knowledge(release), compile_knowledge(remote))
    if problem is None:
        return AppState(settings, remote, TherapyKG(remote, bounds=bounds))
    log.error("not serving knowledge: %s", problem)
    # the remote graph cannot back a service; every route that would use one answers 503 (`api.deps`), so this
    # stand-in over the committed release is never asked anything (it only keeps the app's shape)
    return AppState(settings, remote, TherapyKG(release, bounds=bounds), problem)
