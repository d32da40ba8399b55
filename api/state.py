"""What the running app holds: built once at start-up from the settings, shared read-only by requests.

Over a remote store the service answers from an in-process replica of the release graph read from it, once
found whole (`kg.store.fingerprint`); `api.knowledge_watch` rechecks the store and may swap in a service over a
new replica or set a problem; requests read `service` and the problems afresh each time. /sparql alone asks
the remote store itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from api.settings import Settings
from kg.errors import LimitError, StoreError
from kg.knowledge import Knowledge
from kg.knowledge_check import store_problem
from kg.ontology.hermit import HermitBounds
from kg.service import TherapyKG
from kg.store import Store
from kg.store.fingerprint import StoredRelease, replica

log = logging.getLogger("therapy-kg.state")


@dataclass
class AppState:
    settings: Settings
    store: Store
    service: TherapyKG
    #: what is wrong with the store's release (`kg.knowledge_check`): every knowledge-bearing route answers 503
    knowledge_problem: str | None = None
    #: the store cannot be reached or checked now: /health answers 503; the last verified knowledge still serves
    store_problem: str | None = None
    #: the release the service was compiled from (remote stores), and what happened to it since start
    release: StoredRelease | None = None
    events: list[str] = field(default_factory=list)
    checked_at: str | None = None
    #: the committed release this code was built and tested with (what `knowledge_version=release` expects)
    committed: Knowledge | None = None


def expected_version(settings: Settings, release: Knowledge) -> str | None:
    """The version a remote store must hold: None for any whole release."""
    if settings.knowledge_version == "any":
        return None
    return release.version if settings.knowledge_version == "release" else settings.knowledge_version


def load_state(settings: Settings) -> AppState:
    """Load the committed release into the embedded store (no Java needed), or connect to the remote endpoint."""
    from kg.store import RemoteSparqlStore
    from kg.store.release import embedded_store

    bounds = HermitBounds(timeout_s=settings.reasoner_timeout_s, memory_mb=settings.reasoner_memory_mb)
    release = TherapyKG(embedded_store(), bounds=bounds)  # the committed release this code was built and tested with
    if not settings.sparql_endpoint:
        return AppState(settings, release.store, release)
    remote = RemoteSparqlStore(
        settings.sparql_endpoint, timeout=settings.query_timeout_s, operation=settings.sparql_protocol
    )
    # until the remote release is verified, this stand-in over the committed release is never asked anything:
    # every route that would use it answers 503 (`api.deps`)
    state = AppState(settings, remote, release, knowledge_problem="the SPARQL store has not been checked yet")
    state.committed = release.knowledge
    recheck(state)
    return state


def recheck(state: AppState) -> None:
    """Check the store's release again; recompile the service when a whole release other than the one it was
    compiled from is there; set or clear the problems."""
    from datetime import UTC, datetime

    release = state.committed or state.service.knowledge
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        stored, problem = store_problem(state.store, release, expected_version(state.settings, release))
    except (StoreError, LimitError) as exc:  # unreachable, slow, or answering garbage
        if state.store_problem is None:
            log.error("the SPARQL store cannot be checked: %s", exc)
        state.store_problem = f"the SPARQL store cannot be checked: {exc}"
        if state.release is None:  # nothing verified yet: nothing to answer with
            state.knowledge_problem = state.store_problem
        return
    state.store_problem, state.checked_at = None, now
    if problem is not None:
        if problem != state.knowledge_problem:
            log.error("not serving knowledge: %s", problem)
        state.knowledge_problem = problem
        return
    if state.release is None or stored.found != state.release.found:
        state.service = TherapyKG(replica(stored), bounds=state.service.bounds)
        if state.release is not None:
            event = f"{now}: recompiled from release {stored.version} (was {state.release.version})"
            state.events.append(event)
            log.warning(event)
        state.release = stored
    state.knowledge_problem = None
