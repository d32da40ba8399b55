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

from dataclasses import dataclass
from typing import Protocol

from kg.patient.document import PatientFacts


@dataclass(frozen=True)
class Memberships:
    """Statement IRIs the patient is a member of, per question."""

    applies: frozenset[str]
    possibly: frozenset[str]  # might apply, given information the record lacks; disjoint from applies
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
