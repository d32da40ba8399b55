"""Whether a FHIR record was in force on the evaluation date (`as_of`): the onset of a Condition,
authoredOn of a MedicationRequest, the effective date or period of a MedicationStatement.

A date of year or year-month precision is read at its most favourable end for counting the record: a
start at its earliest day, an end at its latest, so only a record certainly outside the date is left out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kg.patient.fhir_age import birth_interval


def _earliest(value: object) -> date | None:
    return _bounds(value)[0] if value is not None else None


def _latest(value: object) -> date | None:
    return _bounds(value)[1] if value is not None else None  # an end: its latest possible day


def _bounds(value: object) -> tuple[date, date]:
    if isinstance(value, datetime):
        return value.date(), value.date()
    if isinstance(value, date):
        return value, value
    return birth_interval(str(value)[:10])  # YYYY or YYYY-MM, left as text by fhir.resources


def condition_outside(resource: Any, as_of: date) -> str | None:
    """Why a Condition does not count on `as_of` (its onset is after it), or None. An abatement is judged
    with the clinical status (`kg.patient.fhir_status`: an abated condition is not current, and an
    abatement beside an active status is a question), so it is not read again here.

    >>> from types import SimpleNamespace as R
    >>> condition_outside(R(onsetDateTime="2030"), date(2026, 1, 1))
    'onset 2030 is after the evaluation date 2026-01-01'
    >>> condition_outside(R(onsetDateTime="2026-01"), date(2026, 1, 1)) is None
    True
    """
    onset = getattr(resource, "onsetDateTime", None)
    if (start := _earliest(onset)) is not None and start > as_of:
        return f"onset {_text(onset)} is after the evaluation date {as_of.isoformat()}"
    return None


def medication_outside(resource: Any, as_of: date) -> tuple[str, str] | None:
    """("skip", why) for a medication record that starts after `as_of`, ("ended", why) for one whose
    effective period ended before it (taken then, not current), else None."""
    kind = resource.get_resource_type()
    if kind == "MedicationRequest":
        authored = getattr(resource, "authoredOn", None)
        if (start := _earliest(authored)) is not None and start > as_of:
            return "skip", f"authored {_text(authored)}, after the evaluation date {as_of.isoformat()}"
        return None
    period = getattr(resource, "effectivePeriod", None)
    begun = getattr(resource, "effectiveDateTime", None) or (period.start if period is not None else None)
    if (start := _earliest(begun)) is not None and start > as_of:
        return "skip", f"effective from {_text(begun)}, after the evaluation date {as_of.isoformat()}"
    ended = period.end if period is not None else None
    if (end := _latest(ended)) is not None and end < as_of:
        return "ended", f"effective until {_text(ended)}, before the evaluation date {as_of.isoformat()}"
    return None


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)
