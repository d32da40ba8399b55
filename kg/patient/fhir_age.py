"""A patient's age in completed years from a FHIR birthDate, which may give only a year or a month.

A birthDate of year or year-month precision allows a range of ages; the reader takes the youngest
(the years the patient has certainly completed) and says so in its report.
"""

from __future__ import annotations

import calendar
from datetime import date

from kg.errors import PatientInputError


def age_range(birth_date: date | str, today: date) -> tuple[int, int]:
    """Youngest and oldest age in completed years a FHIR birthDate allows on `today`.

    >>> age_range(date(2000, 2, 29), date(2023, 2, 28)), age_range(date(2000, 2, 29), date(2023, 3, 1))
    ((22, 22), (23, 23))
    >>> age_range("1960", date(2025, 6, 1)), age_range("1960-06", date(2025, 6, 15))
    ((64, 65), (64, 65))
    """
    earliest, latest = birth_interval(birth_date)
    if earliest > today:
        raise PatientInputError("Patient.birthDate", "the birth date is after the evaluation date")
    return _completed_years(min(latest, today), today), _completed_years(earliest, today)


def birth_interval(birth_date: date | str) -> tuple[date, date]:
    if isinstance(birth_date, date):
        return birth_date, birth_date
    parts = [int(p) for p in birth_date.split("-")]  # fhir.resources leaves YYYY and YYYY-MM as text
    if len(parts) == 1:
        return date(parts[0], 1, 1), date(parts[0], 12, 31)
    year, month = parts[:2]
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def birth_precision(birth_date: date | str) -> str:
    """How precisely a birthDate is given: `day`, `year and month` or `year`."""
    return "day" if isinstance(birth_date, date) else "year" if "-" not in birth_date else "year and month"


def _completed_years(born: date, today: date) -> int:
    """A 29 February birthday is completed on 1 March in common years."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
