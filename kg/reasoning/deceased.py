"""A deceased patient's answer (issue 13): what the record holds is reported, nothing is presented as actionable.

The record is still read and resolved (its conditions and unrecognised codes come back, for audit and
population tables), but options, current-therapy advice, questions and warnings are withheld, and the
answer says why at the top (`deceased`) and in one `deceased` warning worded by the graph
(`tkg:deceasedNote` on tkg:Patient).
"""

from __future__ import annotations

from datetime import date

from kg.json_types import JsonObject
from kg.knowledge import PATIENT, Knowledge


def withheld_for_deceased(k: Knowledge, document: JsonObject, died: bool | date) -> JsonObject:
    """The evaluation of a patient who has died (on `died`, or on a date the record does not give)."""
    on = died.isoformat() if isinstance(died, date) else None
    return {
        **document,
        "deceased": {"date": on},
        "options": [],
        "current_therapies": [],
        "missing_information": [],
        "warnings": [
            {
                "kind": "deceased",
                "intervention": None,
                "message": k.note(PATIENT, date=on or "date not recorded"),
                "reasons": [],
                "statements": [],
            }
        ],
    }
