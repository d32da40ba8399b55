"""What causes each condition of the patient that the graph gives candidate causes for (SPEC §4).

A cause the record names (`due_to`) is the cause. Where it names none, the recorded conditions that
the graph declares candidate causes of that condition (`tkg:candidateCauseOf`, inherited: spasticity's
candidates are focal spasticity's too) decide: one recorded candidate is the cause; with several, the
cause is undetermined among them; with none, it is unknown. One pure function, so the engines, the
questions and the output read the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kg.knowledge import Knowledge

Basis = Literal["stated", "sole-candidate", "undetermined", "none-recorded"]


@dataclass(frozen=True)
class Cause:
    """The cause of one condition: `causes` when known (stated, or the one candidate), else the
    recorded `candidates` it is undetermined among (none: nothing recorded could be the cause)."""

    condition: str
    basis: Basis
    causes: frozenset[str] = frozenset()
    candidates: frozenset[str] = frozenset()


def causes_of(k: Knowledge, conditions: frozenset[str], due_to: frozenset[tuple[str, str]]) -> dict[str, Cause]:
    """The cause of every recorded condition the graph declares candidate causes for, by that condition.

    >>> from kg.knowledge import Knowledge
    >>> k = Knowledge((), {}, {"S": frozenset({"S"}), "MS": frozenset({"MS"}), "ST": frozenset({"ST"})}, {}, {},
    ...               "", "", candidate_causes={"S": frozenset({"MS", "ST"})})
    >>> causes_of(k, frozenset({"S", "MS"}), frozenset())["S"].causes
    frozenset({'MS'})
    >>> causes_of(k, frozenset({"S", "MS", "ST"}), frozenset())["S"].basis
    'undetermined'
    >>> causes_of(k, frozenset({"S", "MS", "ST"}), frozenset({("S", "ST")}))["S"]
    Cause(condition='S', basis='stated', causes=frozenset({'ST'}), candidates=frozenset())
    """
    result: dict[str, Cause] = {}
    for condition in sorted(conditions):
        # a cause stated for the condition as recorded, or for a less or more specific record of it
        stated = frozenset(cause for c, cause in due_to if k.is_a(condition, c) or k.is_a(c, condition))
        if stated:
            result[condition] = Cause(condition, "stated", causes=stated)
            continue
        declared = k.causes_declared_for(condition)
        if not declared:
            continue
        recorded = frozenset(r for r in conditions if r != condition and any(k.is_a(r, d) for d in declared))
        if len(recorded) == 1:
            result[condition] = Cause(condition, "sole-candidate", causes=recorded)
        elif recorded:
            result[condition] = Cause(condition, "undetermined", candidates=recorded)
        else:
            result[condition] = Cause(condition, "none-recorded")
    return result
