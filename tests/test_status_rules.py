"""The status rules as one pure function (kg.reasoning.status.decide), rule by rule and in their order.

Statements here are (name, kind, prerequisites met) tuples: the rules read only a statement's kind and
whether its prerequisites are met, so nothing else is needed to state them.
"""

from __future__ import annotations

import pytest

from kg.reasoning.status import decide

R_MET, R_UNMET = ("r-met", "recommendation", True), ("r-unmet", "recommendation", False)
C, N = ("c", "contraindication", True), ("n", "not-indicated", True)
CAUTION, DOSING = ("caution", "caution", True), ("dosing", "dosing", True)

#: case → (applying, possibly applying, expected status, expected deciding names)
CASES = {
    "a contraindication excludes, before all else": ([R_MET, N, C], [], "excluded", ["c"]),
    "not indicated, before a met recommendation": ([R_MET, N], [], "not-indicated", ["n"]),
    "a possible contraindication leaves it open": ([R_MET], [C], "undetermined", ["c"]),
    "a possible not-indicated leaves it open": ([R_MET], [N], "undetermined", ["n"]),
    "a met recommendation makes it eligible": ([R_MET, R_UNMET, CAUTION], [], "eligible", ["r-met"]),
    "an unmet recommendation defers it": ([R_UNMET, DOSING], [], "deferred", ["r-unmet"]),
    "a possible recommendation alone: undetermined": ([CAUTION], [R_MET, DOSING], "undetermined", ["r-met"]),
    "nothing about it: undetermined, decided by nothing": ([CAUTION, DOSING], [], "undetermined", []),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rule_in_its_order(case: str) -> None:
    applying, possible, status, deciding = CASES[case]
    decision = decide(applying, possible, met=lambda s: s[2], kind=lambda s: s[1])
    assert decision.status == status
    assert [s[0] for s in decision.deciding] == deciding


def test_it_reads_nothing_but_kind_and_prerequisites() -> None:
    """The same decision whatever else a statement carries: the rules are closed over these two facts."""
    plain = decide([R_UNMET], [], met=lambda s: s[2], kind=lambda s: s[1])
    dressed = decide([(*R_UNMET, "claim text", "Source 1")], [], met=lambda s: s[2], kind=lambda s: s[1])
    assert plain.status == dressed.status == "deferred"
