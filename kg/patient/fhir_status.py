"""Whether a FHIR Condition, MedicationStatement or MedicationRequest is clearly current.

Each record gets one `StatusReading`: `use` it as a current fact (or as a therapy tried), `skip` it
(clearly not current: reported, not used), or `doubt` it (the record does not say clearly). A
doubtful record never counts as current; the service evaluates the patient with and without it
(`kg.patient.doubtful`) and asks the question its class carries in the ontology.

Condition (read as a careful clinical pharmacist reads a problem list):

- `verificationStatus` refuted or entered-in-error in the FHIR code system
  (http://terminology.hl7.org/CodeSystem/condition-ver-status): skip, whatever else it says.
- `clinicalStatus` inactive, resolved or remission in the FHIR code system
  (http://terminology.hl7.org/CodeSystem/condition-clinical): skip.
- `clinicalStatus` active, recurrence or relapse in that system, or no clinicalStatus and no
  abatement (FHIR makes clinicalStatus optional, e.g. for encounter diagnoses; a diagnosis
  recorded with neither is read as current, as an EHR shows it): current, unless doubted below.
- doubt, "is it current?": a clinicalStatus given as text only, coded only in another system
  (SNOMED CT 413322009 |Resolved| is a translation the engine does not read as the FHIR status),
  coded without a system, with a code the FHIR system does not define, or with both current and
  not-current codes; an abatement[x] with no clinicalStatus, or beside an active one (FHIR
  invariant con-4: an abated condition is inactive, resolved or in remission).
- doubt, "is it confirmed?": verificationStatus unconfirmed, provisional or differential. Such a
  diagnosis is a hypothesis: a pharmacist neither treats it as established (it would make
  options eligible or excluded on a guess) nor ignores it (a provisional stroke matters before a
  benzodiazepine is given); so the options it would change are undetermined and the question is
  asked. A verificationStatus the engine cannot read (text only, another system) is doubted too.

MedicationStatement: active → current; completed, stopped, on-hold → tried; entered-in-error,
not-taken, intended → skip (the patient is not taking it, or the record is void); unknown, or a
status outside the FHIR value set → doubt ("does the patient currently receive it?").
MedicationRequest (orders only, see `kg.patient.fhir`): active → current; completed, stopped → tried;
on-hold, cancelled, draft, entered-in-error → skip; unknown or outside the value set → doubt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CURRENT_CLINICAL = frozenset({"active", "recurrence", "relapse"})
NOT_CURRENT_CLINICAL = frozenset({"inactive", "resolved", "remission"})
NOT_VERIFIED = frozenset({"refuted", "entered-in-error"})
UNVERIFIED = frozenset({"unconfirmed", "provisional", "differential"})
VERIFIED = frozenset({"confirmed"})
STATEMENT_STATUS = {
    "active": "current_therapies",
    "completed": "therapies_tried",
    "stopped": "therapies_tried",
    "on-hold": "therapies_tried",
}
STATEMENT_SKIPPED = {
    "entered-in-error": "the record was entered in error",
    "not-taken": "not a medication taken",
    "intended": "not a medication taken",
}
REQUEST_STATUS = {"active": "current_therapies", "completed": "therapies_tried", "stopped": "therapies_tried"}
REQUEST_SKIPPED = {
    "on-hold": "not a medication started",
    "cancelled": "not a medication started",
    "draft": "not a medication started",
    "entered-in-error": "the record was entered in error",
}
ABATEMENT = ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString")

#: The kinds of doubt, each with the question annotation of the ontology that words it.
Doubt = Literal["status", "verification"]


@dataclass(frozen=True)
class StatusReading:
    """`use` (into `target`), `skip` or `doubt`; a reason for the latter two (no clinical text copied)."""

    action: Literal["use", "skip", "doubt"]
    target: str = "conditions"
    reason: str = ""
    doubt: Doubt | None = None


def condition_status(resource: Any) -> StatusReading:
    """How a Condition counts; see the module notes.

    >>> from fhir.resources.R4B.condition import Condition
    >>> def read(**extra):
    ...     r = condition_status(Condition.model_validate({"subject": {"reference": "Patient/1"}, **extra}))
    ...     return r.action, r.doubt
    >>> read(), read(clinicalStatus={"coding": [{"system": CONDITION_CLINICAL, "code": "resolved"}]})
    (('use', None), ('skip', None))
    >>> read(clinicalStatus={"text": "resolved"}), read(abatementDateTime="2020-01-01")
    (('doubt', 'status'), ('doubt', 'status'))
    >>> read(verificationStatus={"coding": [{"system": CONDITION_VERIFICATION, "code": "provisional"}]})
    ('doubt', 'verification')
    """
    verification, verification_doubt = _verification(resource.verificationStatus)
    if verification:
        return StatusReading("skip", reason=verification)
    clinical, clinical_doubt = _clinical(resource.clinicalStatus, _abated(resource))
    if clinical:
        return StatusReading("skip", reason=clinical)
    if clinical_doubt:
        return StatusReading("doubt", reason=clinical_doubt + "; not counted as current", doubt="status")
    if verification_doubt:
        return StatusReading(
            "doubt", reason=verification_doubt + "; not counted as a condition of the patient", doubt="verification"
        )
    return StatusReading("use")


def medication_statement_status(status: str | None) -> StatusReading:
    """How a MedicationStatement of this status counts.

    >>> [medication_statement_status(s).action for s in ("active", "on-hold", "not-taken", "unknown", "bogus")]
    ['use', 'use', 'skip', 'doubt', 'doubt']
    """
    return _medication(status, STATEMENT_STATUS, STATEMENT_SKIPPED, "MedicationStatement")


def medication_request_status(status: str | None) -> StatusReading:
    """How an order (MedicationRequest) of this status counts.

    >>> [medication_request_status(s).action for s in ("active", "completed", "on-hold", "unknown")]
    ['use', 'use', 'skip', 'doubt']
    """
    return _medication(status, REQUEST_STATUS, REQUEST_SKIPPED, "MedicationRequest")


def _medication(status: str | None, read: dict[str, str], skipped: dict[str, str], kind: str) -> StatusReading:
    if status in read:
        return StatusReading("use", target=read[status])
    if status in skipped:
        return StatusReading("skip", reason=f"status {status}: {skipped[status]}")
    what = "status unknown" if status == "unknown" else f"status {_short(status)} is not a {kind} status of FHIR R4"
    return StatusReading(
        "doubt",
        target="current_therapies",
        doubt="status",
        reason=f"{what}: whether the patient receives it cannot be read; not counted as current",
    )


def _verification(concept: Any) -> tuple[str, str]:
    """(why the record is void, why its verification is doubtful); empty strings when neither."""
    if concept is None:
        return "", ""
    codes, unreadable = _codes(concept, CONDITION_VERIFICATION, "verificationStatus")
    void = sorted(codes & NOT_VERIFIED)
    if void:
        return f"verificationStatus {void[0]}: not a condition of the patient", ""
    if unreadable:
        return "", unreadable
    unverified = sorted(codes & UNVERIFIED)
    if unverified:
        return "", f"verificationStatus {unverified[0]}: the diagnosis is not confirmed"
    unknown = sorted(codes - VERIFIED)
    return "", (f"verificationStatus {_short(unknown[0])} is not a code of {CONDITION_VERIFICATION}" if unknown else "")


def _clinical(concept: Any, abated: bool) -> tuple[str, str]:
    """(why the condition is clearly not current, why its status is doubtful); empty when neither."""
    if concept is None:
        return "", (
            "an abatement is given but no clinicalStatus (FHIR invariant con-4: an abated condition is "
            "inactive, resolved or in remission)"
            if abated
            else ""
        )
    codes, unreadable = _codes(concept, CONDITION_CLINICAL, "clinicalStatus")
    if unreadable:
        return "", unreadable
    current, not_current = codes & CURRENT_CLINICAL, codes & NOT_CURRENT_CLINICAL
    unknown = codes - current - not_current
    if unknown:
        return "", f"clinicalStatus {_short(sorted(unknown)[0])} is not a code of {CONDITION_CLINICAL}"
    if current and not_current:
        return "", f"clinicalStatus is both {sorted(current)[0]} and {sorted(not_current)[0]}"
    if not_current:
        return f"clinicalStatus {sorted(not_current)[0]}: not a current condition", ""
    if abated:
        return "", (
            f"clinicalStatus {sorted(current)[0]} with an abatement (FHIR invariant con-4: an abated "
            "condition is inactive, resolved or in remission)"
        )
    return "", ""


def _codes(concept: Any, system: str, element: str) -> tuple[set[str], str]:
    """The codes of a status CodeableConcept in the FHIR code system, or why none can be read."""
    codings = concept.coding or []
    codes = {c.code for c in codings if c.system == system and c.code}
    if codes:
        return codes, ""
    if any(c.code and not c.system for c in codings):
        return set(), f"{element} has a code without its code system"
    others = sorted({c.system for c in codings if c.system})
    if others:
        return set(), f"{element} is coded only in {_short(others[0])}, not in {system}"
    return set(), f"{element} is given as text only, not coded in {system}"


def _abated(resource: Any) -> bool:
    return any(getattr(resource, name, None) is not None for name in ABATEMENT)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
