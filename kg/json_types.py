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
