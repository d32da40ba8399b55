"""The syntax and hierarchy of each mapped code system: one `CodeSyntax` per system.

A code from a patient record is checked here before it is looked up, so that a string which only
starts like a code (`"I63 - history, no stroke"`, `"G35\\u0000"`) is reported as not a code instead
of resolving through a prefix. Parents are derived from the code system's own structure, and only
for valid codes:

- **ICD-10-CM** (`http://hl7.org/fhir/sid/icd-10-cm`, case-sensitive in FHIR): a category of a
  letter, a digit and a digit or letter (`G35`, `O9A`), optionally a dot and 1–4 digits or
  letters (`G35.A`, `S14.109A`). Parents drop the last character after the dot, then the dot:
  `S14.109A` → `S14.109` → … → `S14`. There is nothing above the category.
- **SNOMED CT** concept identifier: 6–18 digits, no leading zero, partition identifier `00`
  (short format) or `10` (long format, with a 7-digit namespace) in the two digits before the
  Verhoeff check digit. A description or relationship identifier, or a postcoordinated
  expression, is not a concept code. SNOMED CT's is-a hierarchy is not in the code: no parents.
- **RxNorm** RXCUI: 1–8 digits (the width of RXNCONSO.RXCUI), no leading zero. No parents.
- **ATC**: the five levels, anatomical main group (one of the 14 letters), therapeutic subgroup
  (2 digits), pharmacological and chemical subgroups (a letter each), chemical substance
  (2 digits): `M`, `M03`, `M03B`, `M03BX`, `M03BX01`. Parents are the shorter levels.

Only ASCII digits and letters are accepted: `str.isdigit` would let Arabic-Indic digits through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_ICD10CM = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")
_SCTID = re.compile(r"[1-9][0-9]{5,17}")
_RXCUI = re.compile(r"[1-9][0-9]{0,7}")
_ATC = re.compile(r"[ABCDGHJLMNPRSV](?:[0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?)?")
_ATC_LEVELS = (7, 5, 4, 3, 1)
_SCTID_CONCEPT_PARTITIONS = {"00": 6, "10": 11}  # partition → shortest identifier with it

# Verhoeff's dihedral group D5: multiplication, position permutation
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_valid(digits: str) -> bool:
    """Whether a string of ASCII digits ends in its Verhoeff check digit (SNOMED CT identifiers do).

    >>> verhoeff_valid("24700007"), verhoeff_valid("24700008"), verhoeff_valid("236")
    (True, False, True)
    """
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _D[check][_P[position % 8][int(digit)]]
    return check == 0


def icd10cm_problem(code: str) -> str | None:
    """Why `code` is not an ICD-10-CM code, or None when it is one.

    >>> icd10cm_problem("G35.A"), icd10cm_problem("O9A.11")
    (None, None)
    >>> icd10cm_problem("I63 - history")
    'not in the ICD-10-CM format (a letter, a digit, a digit or letter, then optionally a dot and 1-4 digits ...'
    """
    if _ICD10CM.fullmatch(code):
        return None
    return (
        "not in the ICD-10-CM format (a letter, a digit, a digit or letter, then optionally a dot and 1-4 "
        "digits or letters)"
    )


def icd10cm_parents(code: str) -> list[str]:
    """The subcategories and category above a valid ICD-10-CM code, nearest first.

    >>> icd10cm_parents("S14.109A"), icd10cm_parents("G35")
    (['S14.109', 'S14.10', 'S14.1', 'S14'], [])
    """
    category, _, rest = code.partition(".")
    return [f"{category}.{rest[:n]}" for n in range(len(rest) - 1, 0, -1)] + ([category] if rest else [])


def sctid_problem(code: str) -> str | None:
    """Why `code` is not a SNOMED CT concept identifier, or None when it is one.

    >>> sctid_problem("221360009"), sctid_problem("221360008")
    (None, 'the Verhoeff check digit does not match')
    >>> sctid_problem("221360019")
    'partition identifier 01 is not that of a concept (00 or 10)'
    """
    if not _SCTID.fullmatch(code):
        return "not 6-18 digits without a leading zero"
    partition = code[-3:-1]
    if partition not in _SCTID_CONCEPT_PARTITIONS:
        return f"partition identifier {partition} is not that of a concept (00 or 10)"
    if len(code) < _SCTID_CONCEPT_PARTITIONS[partition]:
        return "too short for a long-format identifier with its namespace"
    if not verhoeff_valid(code):
        return "the Verhoeff check digit does not match"
    return None


def rxcui_problem(code: str) -> str | None:
    """Why `code` is not an RxNorm concept identifier (RXCUI), or None when it is one.

    >>> rxcui_problem("1292"), rxcui_problem("01292")
    (None, 'not 1-8 digits without a leading zero')
    """
    return None if _RXCUI.fullmatch(code) else "not 1-8 digits without a leading zero"


def atc_problem(code: str) -> str | None:
    """Why `code` is not an ATC code of any of its five levels, or None when it is one.

    >>> atc_problem("M03BX01"), atc_problem("M03BX1")
    (None, 'not an ATC code (levels M, M03, M03B, M03BX, M03BX01)')
    """
    return None if _ATC.fullmatch(code) else "not an ATC code (levels M, M03, M03B, M03BX, M03BX01)"


def atc_parents(code: str) -> list[str]:
    """The ATC levels above a valid ATC code, nearest first.

    >>> atc_parents("M03BX01"), atc_parents("M")
    (['M03BX', 'M03B', 'M03', 'M'], [])
    """
    return [code[:n] for n in _ATC_LEVELS if n < len(code)]


def _no_parents(code: str) -> list[str]:
    return []


@dataclass(frozen=True)
class CodeSyntax:
    """One code system's syntax check (`problem`: why a string is not a code, or None) and its
    hierarchy on valid codes (`parents`, nearest first)."""

    problem: Callable[[str], str | None]
    parents: Callable[[str], list[str]]


#: Per code system, by the `syntax` column of ontology/code-systems.tsv.
SYNTAXES: dict[str, CodeSyntax] = {
    "icd-10-cm": CodeSyntax(icd10cm_problem, icd10cm_parents),
    "snomed-ct-concept-id": CodeSyntax(sctid_problem, _no_parents),
    "rxnorm-rxcui": CodeSyntax(rxcui_problem, _no_parents),
    "atc": CodeSyntax(atc_problem, atc_parents),
}
