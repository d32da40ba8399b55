"""A FHIR R4 Bundle read into the patient document of SPEC §4, parsed with fhir.resources.

fhir.resources 8 models FHIR R5 by default; its `R4B` package (FHIR 4.3) reads R4 Bundles of the
resources used here, so the Bundle is validated with the R4B models. An invalid Bundle is a
`PatientInputError` naming the element, e.g. `entry[2].resource.code`.

What is read, and what is left out:

- **Patient** (at most one): `id`, and `birthDate` as the age in completed years on `today`. A
  birthDate of year or year-month precision gives the *youngest* age it allows (the years the
  patient has certainly completed) and a report note saying so. No Patient: age unknown.
- **Condition** → `conditions` when it is clearly current and not refuted; **MedicationStatement**
  and **MedicationRequest** (an order, not a proposal or plan, and not `doNotPerform`) →
  `current_therapies` or `therapies_tried` by status. What "clearly current" means, and which
  statuses are skipped, is in `kg.patient.fhir_status`. A record whose status cannot be read as clearly
  current (a clinicalStatus as text only or coded in another system, an abatement, a provisional
  diagnosis, a medication of status unknown) is a *doubtful fact*: it is not in the patient, but
  in `BundleReading.doubtful` and in the report, and the service asks about it (`kg.patient.doubtful`).
  The medication is `medicationCodeableConcept` or a `medicationReference` to a contained or
  bundled Medication (its `code`); a reference that resolves to neither is an input error.
- **Procedure**: completed / in-progress, and stopped / on-hold (FHIR: some of the activity was
  performed, so the therapy was started) → `therapies_tried`.

Contained resources (FHIR: parts of their container with no existence of their own) are read
only where the container's meaning reads them: the Medication a `medicationReference` names by
`#id`. Every other contained resource is reported with its path
(`entry[3].resource.contained[0]`), never dropped. A contained Condition (the reason of an order,
the evidence of a diagnosis) is not a problem-list entry of its own, so it never counts as a
current condition; when the Condition's own statuses would count it, it is a doubtful fact, asked
about like any other.

Every code becomes a `Concept` (all codings with system and code, plus `text`), so the resolver
reports unmapped codes in `unrecognized`. Whatever the Bundle holds that adds nothing to the
patient (Observations and other resource types, skipped statuses, codings without a system) is
listed in the report of `read_bundle`, as `{"field", "input", "reason"}` items like those of
`unrecognized`, whose `input` names the resource (type and id) and copies no clinical value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from kg.errors import NothingToEvaluateError, PatientInputError
from kg.json_types import JsonObject
from kg.patient.document import (
    BundlePatientInput,
    Concept,
    ConditionInput,
    ConditionWithCause,
    PatientInput,
    TherapyWithRoute,
)
from kg.patient.fhir_age import age_range, birth_interval, birth_precision
from kg.patient.fhir_concepts import identify, read_concept
from kg.patient.fhir_dates import condition_outside, medication_outside
from kg.patient.fhir_status import (
    Doubt,
    StatusReading,
    condition_status,
    medication_request_status,
    medication_statement_status,
)
from kg.patient.fhir_validate import short, validate_bundle

REQUEST_ORDER_INTENTS = {"order", "original-order", "reflex-order", "filler-order", "instance-order"}
PROCEDURE_STATUS = {"completed", "in-progress", "stopped", "on-hold"}
READ_TYPES = ("Patient", "Condition", "MedicationStatement", "MedicationRequest", "Procedure")
#: The resource types `validate_bundle` materialises as models: those read, and the Medications they refer to.
MATERIALISED = frozenset((*READ_TYPES, "Medication"))
MAX_AGE = 130

_LIST_FIELDS = ("conditions", "therapies_tried", "current_therapies", "findings")
#: The FHIR R4 extension a Condition names what it results from with (a Condition reference or a code).
DUE_TO = "http://hl7.org/fhir/StructureDefinition/condition-dueTo"
#: `sources` key of the Bundle path of each condition's cause ("" where the condition names none).
CAUSE_SOURCES = "conditions.due_to"
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([^/]+)$")


@dataclass(frozen=True)
class DoubtfulFact:
    """A term the Bundle records without saying clearly that it is current (`kg.patient.fhir_status`)."""

    field: str  # the PatientInput list it would join: conditions or current_therapies
    concept: Concept
    source: str  # the Bundle path of its code, e.g. entry[2].resource.code
    record: str  # the Bundle path of its resource, e.g. entry[2] (the `field` of its report item)
    doubt: Doubt
    reason: str


@dataclass(frozen=True)
class BundleReading:
    """The patient read from a Bundle, what was left out, and where each term came from."""

    patient: PatientInput
    report: list[JsonObject] = field(default_factory=list)
    # PatientInput list field → the Bundle path of each of its terms, index for index
    sources: dict[str, list[str]] = field(default_factory=dict)
    doubtful: tuple[DoubtfulFact, ...] = ()


def bundle_to_patient(bundle: object, today: date | None = None) -> PatientInput:
    """The patient document a FHIR R4 Bundle states; see the module notes for what is read."""
    return read_bundle(bundle, today).patient


def bundle_to_patient_with_report(bundle: object, today: date | None = None) -> tuple[PatientInput, list[JsonObject]]:
    """The patient, and the Bundle contents left out of it (`{"field", "input", "reason"}` items)."""
    reading = read_bundle(bundle, today)
    return reading.patient, reading.report


def read_bundle(bundle: object, today: date | None = None) -> BundleReading:
    """The patient, the report, and the Bundle path of each term (`sources`), for callers that
    want to point an `unrecognized` item such as `conditions[1]` back at `entry[2].resource.code`."""
    validated, unread = validate_bundle(bundle, MATERIALISED)
    return read_validated(validated, today or date.today(), unread)


def read_validated(bundle: Bundle, today: date, unread: dict[int, JsonObject] | None = None) -> BundleReading:
    """`read_bundle` of a Bundle validated already (`validate_bundle` with MATERIALISED): the population run
    validates each distinct resource once and assembles its patients' Bundles from them."""
    return _Reader(bundle, today, unread).read()


def bundle_path(reading: BundleReading, field: str) -> str | None:
    """The Bundle element a patient field such as `conditions[1]` was read from, if it was.

    >>> sources = {"conditions": ["entry[2].resource.code"]}
    >>> reading = BundleReading(PatientInput(conditions=["tkg:Spasticity"]), sources=sources)
    >>> bundle_path(reading, "conditions[0]"), bundle_path(reading, "conditions[1]"), bundle_path(reading, "age")
    ('entry[2].resource.code', None, None)
    """
    name, _, rest = field.partition("[")
    index, _, member = rest.partition("]")
    paths = reading.sources.get(CAUSE_SOURCES if member == ".due_to" else name, [])
    return (paths[int(index)] or None) if index.isdigit() and int(index) < len(paths) else None


def with_bundle_report(unrecognized: list[JsonObject], reading: BundleReading) -> list[JsonObject]:
    """The `unrecognized` items of a patient read from a Bundle, each saying where in the Bundle it
    was read (`source`), followed by what the reading left out (skipped resources, uncoded
    codings, an imprecise birth date), so nothing the Bundle held goes unmentioned."""
    items = []
    for item in unrecognized:
        source = bundle_path(reading, item["field"])
        items.append(item if source is None else {**item, "source": source})
    return items + [dict(item) for item in reading.report]


# --- reading ----------------------------------------------------------------------------------


class _Reader:
    """One pass over a validated Bundle; collects terms with their source paths and the report."""

    deceased: bool | date | None = None

    def __init__(self, bundle: Bundle, today: date, unread: dict[int, JsonObject] | None = None) -> None:
        self.entries = list(bundle.entry or [])
        self.today = today
        self.unread = unread or {}  # entry index → type and id of a resource not materialised (not read)
        self.terms: dict[str, list[ConditionInput | TherapyWithRoute]] = {name: [] for name in _LIST_FIELDS}
        self.sources: dict[str, list[str]] = {name: [] for name in (*_LIST_FIELDS, CAUSE_SOURCES)}
        self.report: list[JsonObject] = []
        self.doubtful: list[DoubtfulFact] = []
        self.read_contained: set[str] = set()  # paths of contained resources read as part of their container
        self.referenced: set[int] = set()  # entries holding a Medication some statement refers to
        self.by_reference: dict[str, int] = {}
        for index, entry in enumerate(self.entries):
            resource = entry.resource
            if resource is None:
                continue
            if entry.fullUrl:
                self.by_reference.setdefault(_unversioned(entry.fullUrl), index)
            if resource.id:
                self.by_reference.setdefault(f"{resource.get_resource_type()}/{resource.id}", index)

    def read(self) -> BundleReading:
        patient_id, age = self._patient()
        medications: list[int] = []
        for index, entry in enumerate(self.entries):
            resource, where = entry.resource, f"entry[{index}]"
            if index in self.unread:  # not materialised: a type the evaluation does not read
                kind = self.unread[index]["resourceType"]
                reason = f"{kind} resources are not read; only {', '.join(READ_TYPES)} are"
                self.report.append({"field": where, "input": self.unread[index], "reason": reason})
                continue
            if resource is None:
                self._skip(where, None, "an entry without a resource")
                continue
            kind = resource.get_resource_type()
            if kind == "Patient":
                continue
            if kind == "Medication":
                medications.append(index)
                continue
            if kind not in READ_TYPES:
                self._skip(where, resource, f"{kind} resources are not read; only {', '.join(READ_TYPES)} are")
                continue
            self._check_subject(resource, where, patient_id)
            getattr(self, f"_{kind}")(resource, where)
        for index in medications:
            if index not in self.referenced:
                self._skip(
                    f"entry[{index}]",
                    self.entries[index].resource,
                    "a Medication that no MedicationStatement or MedicationRequest read here refers to",
                )
        self._contained()
        nothing_current = not self.terms["current_therapies"]  # a medication list alone is answered (SPEC §4)
        if not self.terms["conditions"] and nothing_current and not any(d.field == "conditions" for d in self.doubtful):
            skipped = sum(
                1
                for r in self.report
                if r["input"].get("resourceType") == "Condition" and re.fullmatch(r"entry\[\d+\]", r["field"])
            )
            raise NothingToEvaluateError(
                "Condition",
                "the Bundle has no usable Condition (one with a coded diagnosis, "
                "not inactive, resolved, in remission, refuted or entered in error) and no active medication"
                + (f"; {skipped} Condition entr{'y was' if skipped == 1 else 'ies were'} skipped" if skipped else ""),
            )
        return BundleReading(self._patient_input(patient_id, age), self.report, self.sources, tuple(self.doubtful))

    # Patient

    def _patient(self) -> tuple[str | None, int | None]:
        found = [
            i
            for i, e in enumerate(self.entries)
            if e.resource is not None and e.resource.get_resource_type() == "Patient"
        ]
        if len(found) > 1:
            raise PatientInputError(
                "Patient",
                f"the Bundle holds {len(found)} Patient resources "
                f"({', '.join(f'entry[{i}]' for i in found)}); give one patient per Bundle",
            )
        if not found:
            return None, None
        patient: Any = self.entries[found[0]].resource  # a Patient: `found` holds Patient entries only
        on = self._death(patient, found[0])  # the age is the age at death
        if patient.birthDate is None:
            return patient.id, None
        if self.deceased is True:  # died on a date the record does not give: no age can be computed
            self.report.append(
                {
                    "field": f"entry[{found[0]}].resource.deceasedBoolean",
                    "input": identify(patient),
                    "reason": "the patient died on a date the record does not give: the age is not computed",
                }
            )
            return patient.id, None
        youngest, oldest = age_range(patient.birthDate, on)
        if youngest > MAX_AGE:
            raise PatientInputError(
                "Patient.birthDate", f"gives an age of {youngest} years; ages run from 0 to {MAX_AGE}"
            )
        if youngest != oldest:
            self.report.append(
                {
                    "field": f"entry[{found[0]}].resource.birthDate",
                    "input": identify(patient),
                    "reason": f"birthDate gives only the {birth_precision(patient.birthDate)}: the patient is "
                    f"{youngest} or {oldest} years old; age taken as {youngest}, the years certainly completed",
                }
            )
        return patient.id, youngest

    def _death(self, patient: Any, index: int) -> date:
        """Note whether the patient had died by the evaluation date (`self.deceased`), and return the date
        ages are computed on: the date of death, else the evaluation date."""
        died = patient.deceasedDateTime
        if died is not None:
            died_on = died.date() if isinstance(died, datetime) else _partial_date(died)
            if died_on <= self.today:
                self.deceased = died_on
                return died_on
            self.report.append(
                {
                    "field": f"entry[{index}].resource.deceasedDateTime",
                    "input": identify(patient),
                    "reason": f"the patient died after the evaluation date {self.today.isoformat()}: "
                    "read as alive on it",
                }
            )
        elif patient.deceasedBoolean:
            self.deceased = True
        return self.today

    def _check_subject(self, resource: Any, where: str, patient_id: str | None) -> None:
        """A resource about another Patient (`Patient/<other id>`) must not be merged into this one."""
        subject = getattr(resource, "subject", None)
        if patient_id is None or subject is None or not subject.reference:
            return
        match = _PATIENT_REFERENCE.search(_unversioned(subject.reference))
        if match and match.group(1) != patient_id:
            raise PatientInputError(f"{where}.resource.subject", "refers to a Patient other than the Bundle's Patient")

    # the resource types read; each adds terms or a report item

    def _Condition(self, resource: Any, where: str) -> None:
        reading = condition_status(resource)
        if reading.action == "skip":
            self._skip(where, resource, reading.reason)
            return
        if (outside := condition_outside(resource, self.today)) is not None:
            self._skip(where, resource, outside)
            return
        added = self._add("conditions", resource, resource.code, f"{where}.resource.code", where, doubt=reading)
        cause = self._due_to(resource, where) if added else None
        if cause is not None:
            concept, cause_where = cause
            condition = self.terms["conditions"][-1]
            assert isinstance(condition, Concept)  # just added by `_add`
            self.terms["conditions"][-1] = ConditionWithCause(condition=condition, due_to=concept)
            self.sources[CAUSE_SOURCES][-1] = cause_where

    def _due_to(self, resource: Any, where: str) -> tuple[Concept, str] | None:
        """The cause a Condition names (the condition-dueTo extension): a code, or a reference to another
        Condition of the Bundle (or contained) whose code is read; None when it names none."""
        for i, extension in enumerate(resource.extension or []):
            if extension.url != DUE_TO:
                continue
            at = f"{where}.resource.extension[{i}]"
            if extension.valueCodeableConcept is not None:
                at = f"{at}.valueCodeableConcept"
                concept, unreadable = read_concept(extension.valueCodeableConcept, at)
            elif extension.valueReference is not None and extension.valueReference.reference:
                target, target_where = self._referenced(resource, extension.valueReference.reference, at)
                if target.get_resource_type() != "Condition" or target.code is None:
                    self._skip(at, resource, "condition-dueTo names something other than a coded Condition: not read")
                    continue
                concept, unreadable = read_concept(target.code, f"{target_where}.code")
                at = f"{target_where}.code"
            else:
                self._skip(at, resource, "condition-dueTo without a code or a reference: not read")
                continue
            self.report += [{"field": f, "input": identify(resource), "reason": r} for f, r in unreadable]
            if concept is not None:
                return concept, at
        return None

    def _referenced(self, resource: Any, reference: str, at: str) -> tuple[Any, str]:
        """The resource a reference names: contained (`#id`) or in the Bundle; an input error otherwise."""
        if reference.startswith("#"):
            for i, contained in enumerate(resource.contained or []):
                if contained.id == reference[1:]:
                    return contained, f"{at.rsplit('.extension', 1)[0]}.contained[{i}]"
            raise PatientInputError(f"{at}.valueReference", f"no contained resource has id {short(reference[1:])}")
        index = self.by_reference.get(_unversioned(reference))
        if index is None:
            raise PatientInputError(
                f"{at}.valueReference", f"{short(reference)} is neither contained nor in the Bundle"
            )
        return self.entries[index].resource, f"entry[{index}].resource"

    def _MedicationStatement(self, resource: Any, where: str) -> None:
        reading = medication_statement_status(resource.status)
        if reading.action == "skip":
            self._skip(where, resource, reading.reason)
            return
        self._add_medication(reading, resource, where)

    def _MedicationRequest(self, resource: Any, where: str) -> None:
        if resource.doNotPerform:
            self._skip(where, resource, "doNotPerform: an order not to give the medication")
            return
        if resource.intent not in REQUEST_ORDER_INTENTS:
            self._skip(where, resource, f"intent {resource.intent}: not an order")
            return
        reading = medication_request_status(resource.status)
        if reading.action == "skip":
            self._skip(where, resource, reading.reason)
            return
        self._add_medication(reading, resource, where)

    def _Procedure(self, resource: Any, where: str) -> None:
        if resource.status not in PROCEDURE_STATUS:
            self._skip(where, resource, f"status {resource.status}: not a procedure performed")
            return
        self._add("therapies_tried", resource, resource.code, f"{where}.resource.code", where)

    def _add_medication(self, reading: StatusReading, resource: Any, where: str) -> None:
        outside = medication_outside(resource, self.today)
        if outside is not None and outside[0] == "skip":
            self._skip(where, resource, outside[1])
            return
        if outside is not None and reading.target == "current_therapies":  # taken then, not now: tried
            reading = StatusReading(reading.action, "therapies_tried", reading.reason, reading.doubt)
            self.report.append({"field": where, "input": identify(resource), "reason": outside[1] + ": read as tried"})
        if resource.medicationCodeableConcept is not None:
            added = self._add(
                reading.target,
                resource,
                resource.medicationCodeableConcept,
                f"{where}.resource.medicationCodeableConcept",
                where,
                doubt=reading,
            )
        else:
            medication, medication_where = self._medication(resource, where)
            code, code_where = medication.code, f"{medication_where}.code"
            ingredients = [i for i in medication.ingredient or [] if i.itemCodeableConcept is not None]
            if code is None and len(ingredients) == 1:  # a single-ingredient Medication coded by its ingredient
                code, code_where = ingredients[0].itemCodeableConcept, f"{medication_where}.ingredient[0]"
            added = self._add(
                reading.target,
                resource,
                code,
                code_where,
                where,
                missing="the referenced Medication has no code and no single coded ingredient",
                doubt=reading,
            )
        if added:
            self._with_route(reading.target, resource, where)

    def _with_route(self, target: str, resource: Any, where: str) -> None:
        """The medication just added, with the route its dosage gives (which may name its product form), when
        every dosage that gives a route gives the same one; several routes are reported and none is used."""
        member = "dosage" if resource.get_resource_type() == "MedicationStatement" else "dosageInstruction"
        routes: dict[tuple[tuple[str, str], ...], tuple[Concept, str]] = {}
        for i, dosage in enumerate(getattr(resource, member, None) or []):
            if dosage.route is None:
                continue
            concept, _ = read_concept(dosage.route, f"{where}.resource.{member}[{i}].route")
            if concept is not None:
                routes.setdefault(tuple((c.system, c.code) for c in concept.coding), (concept, f"{member}[{i}]"))
        if len(routes) > 1:
            self.report.append(
                {"field": where, "input": identify(resource), "reason": "its dosages give different routes: none used"}
            )
        if len(routes) == 1:
            ((route, _),) = routes.values()
            therapy = self.terms[target][-1]
            assert isinstance(therapy, Concept)  # just added by `_add`
            self.terms[target][-1] = TherapyWithRoute(therapy=therapy, route=route)

    def _medication(self, resource: Any, where: str) -> tuple[Any, str]:
        """The Medication a `medicationReference` names: contained (`#id`) or in the Bundle."""
        field_path = f"{where}.resource.medicationReference"
        reference = resource.medicationReference.reference
        if not reference:
            raise PatientInputError(field_path, "has no reference; only a contained or bundled Medication can be read")
        if reference.startswith("#"):
            for i, contained in enumerate(resource.contained or []):
                if contained.id == reference[1:]:
                    self.read_contained.add(f"{where}.resource.contained[{i}]")
                    return self._expect_medication(contained, field_path), f"{where}.resource.contained[{i}]"
            raise PatientInputError(field_path, f"no contained resource has id {short(reference[1:])}")
        index = self.by_reference.get(_unversioned(reference))
        if index is None:
            raise PatientInputError(field_path, f"{short(reference)} is neither a contained resource nor in the Bundle")
        self.referenced.add(index)
        return self._expect_medication(self.entries[index].resource, field_path), f"entry[{index}].resource"

    @staticmethod
    def _expect_medication(resource: Any, field_path: str) -> Any:
        if resource.get_resource_type() != "Medication":
            raise PatientInputError(field_path, f"refers to a {resource.get_resource_type()}, not a Medication")
        return resource

    def _add(
        self,
        target: str,
        resource: Any,
        codeable: Any,
        code_where: str,
        where: str,
        missing: str | None = None,
        doubt: StatusReading | None = None,
    ) -> bool:
        """Read one coded term into `target` (or as a doubtful fact); whether it was added to `target`."""
        if codeable is None:
            self._skip(where, resource, missing or f"a {resource.get_resource_type()} without a code")
            return False
        concept, unreadable = read_concept(codeable, code_where)
        self.report += [{"field": f, "input": identify(resource), "reason": r} for f, r in unreadable]
        if concept is None:
            self._skip(where, resource, "its code has no coding with a system and a code (text alone is not read)")
            return False
        if doubt is not None and doubt.action == "doubt":
            assert doubt.doubt is not None
            self.doubtful.append(DoubtfulFact(target, concept, code_where, where, doubt.doubt, doubt.reason))
            self._skip(where, resource, doubt.reason)
            return False
        if target != "conditions" and concept in self.terms[target]:
            return False  # the same drug or procedure again (an order per refill): one term, its first source
        self.terms[target].append(concept)
        self.sources[target].append(code_where)
        if target == "conditions":
            self.sources[CAUSE_SOURCES].append("")  # the cause's path, index for index; set by `_Condition`
        return True

    def _contained(self) -> None:
        """Every contained resource not read as part of its container: a Condition is a doubtful
        fact (unless its statuses skip it), anything else is reported."""
        for index, entry in enumerate(self.entries):
            container: Any = entry.resource  # None for an entry without one: it contains nothing then
            for i, contained in enumerate(getattr(container, "contained", None) or []):
                where = f"entry[{index}].resource.contained[{i}]"
                if where in self.read_contained:
                    continue
                kind, outer = contained.get_resource_type(), container.get_resource_type()
                if kind != "Condition":
                    self._skip(
                        where,
                        contained,
                        f"a {kind} contained in a {outer} is part of it, not a record of its own: not read",
                    )
                    continue
                reading = condition_status(contained)
                if reading.action == "skip":
                    self._skip(where, contained, reading.reason)
                    continue
                reason = (
                    f"a Condition contained in a {outer} is part of it (e.g. its reason), not a problem-list "
                    "entry of its own; not counted as a current condition"
                )
                self._add(
                    "conditions",
                    contained,
                    contained.code,
                    f"{where}.code",
                    where,
                    doubt=StatusReading("doubt", reason=reason, doubt="status"),
                )

    def _skip(self, where: str, resource: Any, reason: str) -> None:
        self.report.append({"field": where, "input": identify(resource), "reason": reason})

    def _patient_input(self, patient_id: str | None, age: int | None) -> PatientInput:
        doubtful = [d.concept for d in self.doubtful if d.field == "conditions"]
        if self.terms["conditions"] or self.terms["current_therapies"] or not doubtful:
            return self._validated(patient_id, age, self.terms)
        # Every condition is doubtful and nothing is current: the patient without them has nothing to answer
        # for, which the patient document allows only here. Validate with one of them in place, then leave it out.
        first = doubtful[0]
        patient = self._validated(patient_id, age, {**self.terms, "conditions": [first]})
        return patient.model_copy(update={"conditions": []})

    def _validated(
        self, patient_id: str | None, age: int | None, terms: dict[str, list[ConditionInput | TherapyWithRoute]]
    ) -> PatientInput:
        try:
            return BundlePatientInput.model_validate(
                {"id": patient_id, "age": age, **terms, "deceased": self.deceased, "as_of": self.today}
            )
        except PatientInputError as exc:  # neither a condition nor a current therapy
            raise PatientInputError("Condition", f"{exc.field}: {str(exc).removeprefix(exc.field + ': ')}") from None
        except ValidationError as exc:
            first = exc.errors()[0]  # Concepts are valid already: only a list length or the id is left
            name = str(first["loc"][0])
            where = {"conditions": "Condition", "id": "Patient.id"}.get(name, "Bundle")
            raise PatientInputError(where, f"{name.replace('_', ' ')}: {first['msg']}") from None


def _partial_date(value: object) -> date:
    """A FHIR date of year or year-month precision (left as text by fhir.resources), at its latest day."""
    if isinstance(value, date):
        return value
    _, latest = birth_interval(str(value)[:10])
    return latest


def _unversioned(reference: str) -> str:
    return reference.split("/_history/", 1)[0]
