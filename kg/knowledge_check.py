"""Whether a store holds the release the service was built for (issue 14 item 3).

A remote SPARQL server may hold nothing (a fresh database), part of the release (a load cut short), another
version, or the release in a graph the queries do not read. Each would compile to knowledge that silently
answers "nothing applies". So the knowledge compiled from the store is compared with the knowledge compiled
from the committed release, by version and statement by statement, and any difference is named.
"""

from __future__ import annotations

from kg.knowledge import Knowledge

#: how many statement names a message lists before it says how many more
SHOWN = 5


def knowledge_problem(expected: Knowledge, found: Knowledge) -> str | None:
    """What is wrong with `found` (compiled from the store) against `expected` (from the release), or None."""
    if not found.statements:
        return (
            "the SPARQL store holds no statement of therapy-kg: the release is not loaded there, or not in a graph "
            "the queries read (load it with the release's named graph as the default graph or the union)"
        )
    if found.version != expected.version:
        return (
            f"the SPARQL store holds therapy-kg release {found.version or '(no version)'}; "
            f"this service answers with release {expected.version}"
        )
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
    if parts:
        return f"the SPARQL store holds a partial or altered release {found.version}: " + "; ".join(parts)
    return None


def _names(iris: list[str]) -> str:
    shown = ", ".join(i.rsplit("/", 1)[-1] for i in iris[:SHOWN])
    return shown + (f" and {len(iris) - SHOWN} more" if len(iris) > SHOWN else "")
