"""The JSON documents passed between stages, named for type checking.

A `JsonObject` is a parsed JSON object: a patient document (SPEC §4), an evaluation or one of its
parts (SPEC §5: an option, a reason, a question, a warning), a report item. Their fields are the
SPEC's; the models that check them at the boundary are `kg.patient.document.PatientInput` and the
API's response models.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]


def option_order(option: JsonObject) -> tuple[object, ...]:
    """The order of an evaluation's options: by line (none last), then label, then indication.

    >>> options = [{"line": None, "label": "b"}, {"line": 2, "label": "a", "indication": {"label": "x"}}]
    >>> [o["label"] for o in sorted(options, key=option_order)]
    ['a', 'b']
    """
    indication = option.get("indication") or {}
    return (option["line"] if option["line"] is not None else 99, option["label"], indication.get("label", ""))


#: the effect of the statements that decided an option of each status (SPEC §5 `reasons[].effect`)
DECIDING_EFFECT = {
    "eligible": "recommends",
    "deferred": "prerequisite-unmet",
    "excluded": "excludes",
    "not-indicated": "not-indicated",
    "undetermined": "depends-on",
}


def deciding_reasons(option: JsonObject) -> list[JsonObject]:
    """The reasons an option has its status (the others apply too, but did not decide it).

    >>> option = {"status": "excluded", "reasons": [{"effect": "excludes"}, {"effect": "recommends"}]}
    >>> deciding_reasons(option)
    [{'effect': 'excludes'}]
    """
    effect = DECIDING_EFFECT[option["status"]]
    return [r for r in option["reasons"] if r.get("effect") == effect]
