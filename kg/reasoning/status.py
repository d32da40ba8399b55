"""The status rules: one option's status from the statements about it, as one small pure function.

An engine says, per statement, whether it applies to the patient, possibly applies (it would if the
record said more), and whether its prerequisites are met. For one intervention, `decide` turns that
into the option's status and the statements that decided it, by explicit closed-world rules in order:

1. a contraindication applies → `excluded`;
2. a not-indicated statement applies → `not-indicated`;
3. one of those possibly applies → `undetermined` (the missing fact could exclude it);
4. a recommendation applies and its prerequisites are met → `eligible`;
5. a recommendation applies, prerequisites unmet → `deferred`;
6. otherwise → `undetermined`, decided by whatever possibly applies (perhaps nothing).

Both engines feed the same function, so they can only differ in the sets they answer with, which the
differential test compares. Statements are any objects with a `kind`; the tests use plain tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

from kg.knowledge import STATUS_KINDS

T = TypeVar("T")
Status = Literal["eligible", "deferred", "excluded", "not-indicated", "undetermined"]

#: of the statement kinds that decide a status (STATUS_KINDS), the two that take an option away
EXCLUDING = ("contraindication", "not-indicated")


class Decision(NamedTuple):
    status: Status
    deciding: list[Any]  # the statements (of the caller's type) the status rests on


def decide(
    applying: Sequence[T], possible: Sequence[T], met: Callable[[T], bool], kind: Callable[[T], str]
) -> Decision:
    """The status of one option from the statements about it that apply and that possibly apply.

    >>> kind = lambda s: s[1]
    >>> decide([("r1", "recommendation")], [], met=lambda s: True, kind=kind)
    Decision(status='eligible', deciding=[('r1', 'recommendation')])
    >>> decide([("r1", "recommendation")], [("c1", "contraindication")], met=lambda s: True, kind=kind).status
    'undetermined'
    >>> decide([("r1", "recommendation"), ("c1", "contraindication")], [], met=lambda s: True, kind=kind).status
    'excluded'
    """
    of_kind = {k: [s for s in applying if kind(s) == k] for k in STATUS_KINDS}
    possible_status = [s for s in possible if kind(s) in STATUS_KINDS]
    recommendations = of_kind["recommendation"]
    eligible_by = [s for s in recommendations if met(s)]
    if of_kind["contraindication"]:
        return Decision("excluded", of_kind["contraindication"])
    if of_kind["not-indicated"]:
        return Decision("not-indicated", of_kind["not-indicated"])
    if any(kind(s) in EXCLUDING for s in possible_status):
        return Decision("undetermined", [s for s in possible_status if kind(s) in EXCLUDING])
    if eligible_by:
        return Decision("eligible", eligible_by)
    if recommendations:
        return Decision("deferred", recommendations)
    return Decision("undetermined", possible_status)
