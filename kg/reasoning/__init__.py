"""Stage 4, reasoning: the engines that decide, for one patient, which statements apply (`fast`, `owl` with
`owl_classes`), from the knowledge compiled from the graph (`kg.knowledge`), and the status rules that turn
their answers into the evaluation (`evaluation`).

An engine answers three questions per statement (SPEC §7): does it apply to the patient
(`applies`), might it apply if the record said more (`possibly`), and are its prerequisites met
(`met`). Both engines answer them from the same compiled knowledge; `kg.reasoning.evaluation` turns the
answers into statuses, so the engines can only differ in these sets, which the differential test
compares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol

from kg.patient.document import PatientFacts


class SharedUnion(AbstractSet[str]):
    """`shared | own` as a set, without copying `shared`.

    The statements naming no condition apply to every patient of their population: one set per population
    and answer, as large as the knowledge. The fast engine shares it between patients instead of copying it
    into each patient's memberships (issue 23 item 4). Equal to, and hashed as, the frozenset of its members.
    """

    __slots__ = ("shared", "own")

    def __init__(self, shared: frozenset[str], own: Iterable[str]) -> None:
        self.shared = shared
        self.own = frozenset(own) - shared

    def __contains__(self, item: object) -> bool:
        return item in self.own or item in self.shared

    def __iter__(self) -> Iterator[str]:
        yield from self.shared
        yield from self.own

    def __len__(self) -> int:
        return len(self.shared) + len(self.own)

    def __hash__(self) -> int:
        return self._hash()

    def __repr__(self) -> str:
        return f"SharedUnion({len(self.shared)} shared, {sorted(self.own)!r})"

    @classmethod
    def _from_iterable(cls, it: Iterable[str]) -> frozenset[str]:  # type: ignore[override]
        return frozenset(it)


@dataclass(frozen=True)
class Memberships:
    """Statement IRIs the patient is a member of, per question."""

    applies: AbstractSet[str]
    possibly: AbstractSet[str]  # might apply, given information the record lacks; disjoint from applies
    met: frozenset[str]  # prerequisites met (only statements that have prerequisites)
    #: (statement, condition) for statements that apply per indication (`Statement.by_indication`): the
    #: patient's condition as the indication the statement treats; a statement is in `applies` (`possibly`)
    #: when it applies (possibly applies) for one of them
    applies_for: frozenset[tuple[str, str]] = frozenset()
    possibly_for: frozenset[tuple[str, str]] = frozenset()  # disjoint from applies_for


class Engine(Protocol):
    name: str

    def memberships(self, patients: list[PatientFacts]) -> list[Memberships]: ...


ENGINE_NAMES = ("fast", "owl")
