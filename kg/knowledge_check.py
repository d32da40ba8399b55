"""Whether a store holds a whole release the service may answer with (issue 14 item 3).

A remote SPARQL server may hold nothing (a fresh database), part of a release (a load cut short), an altered
copy, another version, or the release in a graph the queries do not read. Each would compile to knowledge
that silently answers "nothing applies". Every release publishes its fingerprint on its header (triple count
and digest, `kg.ontology.digest`); the check computes the fingerprint of what the store holds and compares.
For the release this code was built with, the statements are also compared one by one, to name what is lost.
"""

from __future__ import annotations

from kg.errors import KnowledgeError, StoreError
from kg.knowledge import Knowledge, compile_knowledge
from kg.store import Store
from kg.store.fingerprint import StoredRelease, release_problem, replica, stored_release

#: how many statement names a message lists before it says how many more
SHOWN = 5


def store_problem(store: Store, release: Knowledge, expected_version: str | None) -> tuple[StoredRelease, str | None]:
    """The store's release and what is wrong with it; for a copy of the release this code was built with
    (`release`) that is not whole, the statements lost or changed are named."""
    stored = stored_release(store)
    problem = release_problem(stored, expected_version)
    if problem is None or stored.version != release.version or stored.found[0] == 0:
        return stored, problem
    try:
        detail = knowledge_problem(release, compile_knowledge(replica(stored)))
    except (KnowledgeError, StoreError):
        detail = None  # what is there does not even compile: the fingerprint's message says enough
    return stored, problem + (f" ({detail})" if detail else "")


def knowledge_problem(expected: Knowledge, found: Knowledge) -> str | None:
    """Which statements of `expected` (from the release) are missing from or differ in `found`, or None."""
    if not found.statements:
        return "it holds no statement of therapy-kg"
    missing = sorted(set(expected.by_iri) - set(found.by_iri))
    extra = sorted(set(found.by_iri) - set(expected.by_iri))
    changed = sorted(i for i in set(expected.by_iri) & set(found.by_iri) if expected.by_iri[i] != found.by_iri[i])
    parts = []
    if missing:
        parts.append(f"{len(missing)} statement(s) of the release are missing ({_names(missing)})")
    if extra:
        parts.append(f"{len(extra)} statement(s) are not in the release ({_names(extra)})")
    if changed:
        parts.append(f"{len(changed)} statement(s) differ from the release ({_names(changed)})")
    return "; ".join(parts) or None


def _names(iris: list[str]) -> str:
    shown = ", ".join(i.rsplit("/", 1)[-1] for i in iris[:SHOWN])
    return shown + (f" and {len(iris) - SHOWN} more" if len(iris) > SHOWN else "")
