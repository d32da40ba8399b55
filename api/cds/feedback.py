"""CDS Hooks 2.0 feedback: card identities, the coded override reasons, and counts of what users did with cards.

Cards are stateless and carry no patient data, so a card's `uuid` is derived from what the card *is*:
uuid5 of the service, the card kind (`options`, `order/excluded`, `warning/current-therapy-excluded`,
...), the intervention it is about and the statements it rests on. The same card for two patients has
the same uuid; two cards of one response never do (a repeat gets `#2`). When a card is issued its
uuid is remembered with that attribution (service, kind, intervention, statement CURIEs: knowledge,
never patient data) in a bounded registry, so feedback can be counted per statement.

Feedback is recorded only as counts, in memory, per process: per (card kind, intervention, statement,
outcome), per override reason code and per accepted suggestion. Nothing else of a feedback entry is
kept: not the `userComment` (free text that may name the patient), not the timestamp.

A card uuid the registry does not know (issued by another worker process or instance, before a
restart, or evicted from the bounded registry) is still acknowledged with 200, as the specification
lets a service ignore feedback: the client can do nothing about it, and a 4xx would make it retry or
alarm. It is counted under `unattributed` per outcome, so the share that cannot be attributed is
visible. Feedback that is not well-formed (not a UUID, an unknown outcome, an override reason on an
accepted card) gets 422 naming the member.
"""

from __future__ import annotations

import csv
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from api.cds.models import Coding, FeedbackEntry, OverrideReason
from kg.resources import ontology_dir
from kg.store.terms import TKG

A = TypeVar("A")  # an attribution: of a card or of a suggestion

OVERRIDE_SYSTEM = TKG + "cds/override-reason"
OVERRIDE_REASONS_FILE = "cds-override-reasons.tsv"
_NAMESPACE = uuid.UUID("1e0b6a53-4b8f-5c53-9d0c-7a1b7c2a6f10")  # of card and suggestion uuids
REGISTRY_SIZE = 50_000


@lru_cache(maxsize=1)
def override_reasons() -> dict[str, list[OverrideReason]]:
    """Card group → the coded reasons a user may give for overriding such a card (ontology/cds-override-reasons.tsv)."""
    groups: dict[str, list[OverrideReason]] = {}
    with (ontology_dir() / OVERRIDE_REASONS_FILE).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            reason = OverrideReason(system=OVERRIDE_SYSTEM, code=row["code"], display=row["display"])
            for group in row["cards"].split():
                groups.setdefault(group, []).append(reason)
    return groups


@dataclass(frozen=True)
class CardAttribution:
    """What a card rests on: knowledge only, never patient data."""

    service: str
    kind: str
    intervention: str | None
    statements: tuple[str, ...]

    def uuid(self) -> str:
        key = "|".join([self.service, self.kind, self.intervention or "", *self.statements])
        return str(uuid.uuid5(_NAMESPACE, key))


@dataclass(frozen=True)
class SuggestionAttribution:
    card: CardAttribution
    action: str  # e.g. "propose tkg:Stretching", "remove-order"


def derived_uuid(base: str, key: str) -> str:
    """A uuid derived from another (a suggestion's from its card's, a repeat's from the first)."""
    return str(uuid.uuid5(uuid.UUID(base), key))


class Issued:
    """The uuids one CDS response hands out, with their attributions; filled while cards are built."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.cards: dict[str, CardAttribution] = {}
        self.suggestions: dict[str, SuggestionAttribution] = {}

    def card(self, kind: str, reasons: Iterable[dict] = (), intervention: str | None = None) -> str:
        statements = tuple(sorted({r["statement"] for r in reasons if r.get("statement")}))
        attribution = CardAttribution(self.service, kind, intervention, statements)
        first = card_uuid = attribution.uuid()
        repeat = 1
        while card_uuid in self.cards:
            repeat += 1
            card_uuid = derived_uuid(first, f"#{repeat}")
        self.cards[card_uuid] = attribution
        return card_uuid

    def suggestion(self, card_uuid: str, action: str) -> str:
        suggestion_uuid = derived_uuid(card_uuid, action)
        self.suggestions[suggestion_uuid] = SuggestionAttribution(self.cards[card_uuid], action)
        return suggestion_uuid


def _keep(registry: OrderedDict[str, A], items: dict[str, A], size: int) -> None:
    """Add `items` to `registry` as the newest, and forget the oldest beyond `size`."""
    for key, attribution in items.items():
        registry[key] = attribution
        registry.move_to_end(key)
    while len(registry) > size:
        registry.popitem(last=False)


class FeedbackLedger:
    """Counts of feedback per service, card kind, intervention, statement and outcome; thread-safe, bounded."""

    def __init__(self, registry_size: int = REGISTRY_SIZE) -> None:
        self._registry_size = registry_size
        self._cards: OrderedDict[str, CardAttribution] = OrderedDict()
        self._suggestions: OrderedDict[str, SuggestionAttribution] = OrderedDict()
        self._outcomes: Counter[tuple[str, str, str | None, str | None, str]] = Counter()
        self._reasons: Counter[tuple[str, str, str | None, str]] = Counter()
        self._accepted: Counter[tuple[str, str, str | None, str]] = Counter()
        self._unattributed: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def remember(self, issued: Issued) -> None:
        with self._lock:
            _keep(self._cards, issued.cards, self._registry_size)
            _keep(self._suggestions, issued.suggestions, self._registry_size)

    def record(self, service: str, entries: list[FeedbackEntry]) -> int:
        """Count the entries; returns how many could be attributed to a card this process issued."""
        attributed = 0
        with self._lock:
            for entry in entries:
                card = self._cards.get(str(entry.card))
                if card is None or card.service != service:
                    self._unattributed[(service, entry.outcome)] += 1
                    continue
                attributed += 1
                for statement in card.statements or (None,):
                    self._outcomes[(service, card.kind, card.intervention, statement, entry.outcome)] += 1
                reason = entry.overrideReason.reason if entry.overrideReason else None
                if entry.outcome == "overridden":
                    code = _override_code(reason)
                    self._reasons[(service, card.kind, card.intervention, code)] += 1
                for accepted in entry.acceptedSuggestions or []:
                    suggestion = self._suggestions.get(str(accepted.id))
                    action = suggestion.action if suggestion and suggestion.card == card else "unknown"
                    self._accepted[(service, card.kind, card.intervention, action)] += 1
        return attributed

    def counts(self, service: str) -> dict:
        """The counts of one service as plain rows (the GET feedback response)."""
        with self._lock:
            outcomes = [
                {"kind": k, "intervention": i, "statement": s, "outcome": o, "count": n}
                for (sv, k, i, s, o), n in sorted(self._outcomes.items(), key=_sort_key)
                if sv == service
            ]
            reasons = [
                {"kind": k, "intervention": i, "reason": r, "count": n}
                for (sv, k, i, r), n in sorted(self._reasons.items(), key=_sort_key)
                if sv == service
            ]
            accepted = [
                {"kind": k, "intervention": i, "suggestion": a, "count": n}
                for (sv, k, i, a), n in sorted(self._accepted.items(), key=_sort_key)
                if sv == service
            ]
            unattributed = {o: n for (sv, o), n in sorted(self._unattributed.items()) if sv == service}
        return {
            "service": service,
            "outcomes": outcomes,
            "overrideReasons": reasons,
            "acceptedSuggestions": accepted,
            "unattributed": unattributed,
        }


def _sort_key(item: tuple[tuple, int]) -> tuple:
    return tuple("" if part is None else part for part in item[0])


def _override_code(reason: Coding | None) -> str:
    """The override reason as counted: one of this service's codes, `other` (the client's own) or `none`."""
    if reason is None:
        return "none"
    return reason.code if reason.system == OVERRIDE_SYSTEM and reason.code in _codes() else "other"


@lru_cache(maxsize=1)
def _codes() -> frozenset[str]:
    return frozenset(r.code for group in override_reasons().values() for r in group)
