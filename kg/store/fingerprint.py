"""The fingerprint of the release a store holds, against the one its header publishes (issue 14 item 3).

Every build publishes the release's triple count and digest on its header (`kg.ontology.digest`). Read back
from a store, a copy is whole when the triples there have that fingerprint: a load cut short, an altered copy
or a graph the queries do not read are told apart from the release, and from each other, by two queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.errors import StoreError
from kg.ontology.digest import fingerprint
from kg.store import OxigraphStore, Store, solutions
from kg.store.queries import named_query


@dataclass(frozen=True)
class StoredRelease:
    """What a store holds: the version its header names ("" for none), the fingerprint the header publishes
    (None when it publishes none), the fingerprint of the triples actually there, and those triples."""

    version: str
    published: tuple[int, str] | None
    found: tuple[int, str]
    triples: tuple[ox.Triple, ...] = field(default=(), compare=False, repr=False)


def stored_release(store: Store) -> StoredRelease:
    """Read the header and every triple of the release graph from `store` (two queries)."""
    header = list(solutions(named_query("engine/release-fingerprint").run(store)))
    triples = tuple(
        _triple(row["s"], row["p"], row["o"]) for row in solutions(named_query("engine/release-triples").run(store))
    )
    found = fingerprint(triples)
    if not header:
        return StoredRelease("", None, found, triples)
    row = header[0]
    version, count, digest = row["version"], row["count"], row["digest"]
    published = (int(count.value), digest.value) if count is not None and digest is not None else None
    return StoredRelease(version.value if version is not None else "", published, found, triples)


def replica(stored: StoredRelease) -> OxigraphStore:
    """An in-process copy of the triples read from a store: what the service answers from once they are found
    whole. Its answers then do not depend on how the server's query engine reads SPARQL (Virtuoso 7.2 returns
    nothing for two property paths in one query), and evaluating a patient needs no round trip."""
    copy = OxigraphStore()
    copy.load_triples(stored.triples)
    return copy


def release_problem(stored: StoredRelease, expected_version: str | None, where: str = "the SPARQL store") -> str | None:
    """What keeps the service from answering with `stored`, or None; `expected_version` None accepts any
    whole release."""
    count, _ = stored.found
    if count == 0:
        return (
            f"{where} holds no triple of therapy-kg: the release is not loaded there, or not in the graph the "
            "service reads (`therapy-kg load --sparql-endpoint URL` puts it there)"
        )
    if not stored.version:
        return f"{where} holds {count} triples but no release header (an owl:Ontology with owl:versionInfo)"
    if stored.published is None:
        return (
            f"{where} holds release {stored.version} without the fingerprint every build publishes "
            "(tkg:releaseTripleCount, tkg:releaseDigest): whether it is whole cannot be checked"
        )
    expected_count, _ = stored.published
    if stored.found != stored.published:
        if count < expected_count:
            return f"{where} holds {count} of the {expected_count} triples of release {stored.version}: a partial load"
        return (
            f"{where} holds an altered copy of release {stored.version}: {count} triples where the release has "
            f"{expected_count}, and their digest is not the release's"
        )
    if expected_version is not None and stored.version != expected_version:
        return (
            f"{where} holds therapy-kg release {stored.version}; this service answers with release "
            f"{expected_version} (TKG_KNOWLEDGE_VERSION=any follows the store's release)"
        )
    return None


def _triple(s: object, p: object, o: object) -> ox.Triple:
    if not isinstance(p, ox.NamedNode) or not isinstance(s, (ox.NamedNode, ox.BlankNode)):
        raise StoreError("the store answered a triple that is not RDF (a literal subject or a non-IRI predicate)")
    if not isinstance(o, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        raise StoreError("the store answered a triple without an object")
    return ox.Triple(s, p, o)
