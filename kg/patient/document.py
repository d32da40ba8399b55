"""The patient document (SPEC §4) and its resolution to graph classes.

Terms are CURIEs, IRIs, codings `{system, code}` or FHIR-style concepts `{coding: [...]}`.
A coding's system is one of the mapped terminologies (ontology/code-systems.tsv) or the graph's
own namespace `https://w3id.org/therapy-kg/`, whose codes are the terms' local names.
An unknown CURIE is an input error naming the field; a code that maps to nothing is reported
back in `unrecognized`, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from kg.errors import PatientInputError
from kg.json_types import JsonObject
from kg.knowledge import CONDITION, FINDING, INTERVENTION, ROUTE, Knowledge
from kg.patient.causes import Cause, causes_of
from kg.store.terms import TKG, TermResolver

if TYPE_CHECKING:
    from kg.ontology.mappings import CodeSystem

MAX_TERMS = 100


class Coding(BaseModel):
    """A code from a terminology, as in FHIR: `system` URI and `code`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    system: Annotated[StrictStr, Field(min_length=1, max_length=500, examples=["http://hl7.org/fhir/sid/icd-10-cm"])]
    code: Annotated[StrictStr, Field(min_length=1, max_length=100, examples=["G35"])]
    display: Annotated[StrictStr | None, Field(default=None, max_length=500)] = None


class Concept(BaseModel):
    """Several codings of one concept (a FHIR CodeableConcept): resolved when any coding maps."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    coding: Annotated[list[Coding], Field(min_length=1, max_length=20)]
    text: Annotated[StrictStr | None, Field(default=None, max_length=500)] = None


TermInput = Annotated[StrictStr, Field(min_length=1, max_length=500)] | Coding | Concept


class ConditionWithCause(BaseModel):
    """A condition with the condition it results from (in FHIR: the `condition-dueTo` extension)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    condition: TermInput
    due_to: TermInput = Field(description="The condition this one results from; also a recorded condition.")


ConditionInput = TermInput | ConditionWithCause


class TherapyWithRoute(BaseModel):
    """A therapy with the route it is given by (in FHIR: the dosage's `route`): for a drug of unstated form the
    route names the product form (baclofen by the intrathecal route is intrathecal baclofen)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    therapy: TermInput
    route: TermInput = Field(description="A route of administration: a tkg: route or a code (SNOMED CT 26643006).")


TherapyInput = TermInput | TherapyWithRoute


class PatientInput(BaseModel):
    """The patient document of SPEC §4."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "p-001",
                    "age": 72,
                    "conditions": [
                        "tkg:GeneralizedSpasticity",
                        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G35"},
                    ],
                    "therapies_tried": ["tkg:Stretching"],
                    "current_therapies": ["tkg:OralBaclofen"],
                    "findings": ["tkg:RefractoryToMaximalOralDose"],
                }
            ]
        },
    )
    id: Annotated[StrictStr | None, Field(default=None, max_length=200)] = None
    age: Annotated[StrictInt | None, Field(default=None, ge=0, le=130, description="Age in completed years.")] = None
    conditions: Annotated[
        list[ConditionInput],
        Field(
            default_factory=list,
            max_length=MAX_TERMS,
            description="A term, or {condition, due_to} naming its cause (spasticity due to a spinal cord injury). "
            "May be empty when current_therapies is not: a medication list alone gets its withdrawal, monitoring "
            "and caution statements.",
        ),
    ]
    therapies_tried: Annotated[
        list[TherapyInput],
        Field(
            default_factory=list,
            max_length=MAX_TERMS,
            description="Therapies started, ongoing or stopped; a term, or {therapy, route}.",
        ),
    ]
    current_therapies: Annotated[
        list[TherapyInput],
        Field(default_factory=list, max_length=MAX_TERMS, description="A term, or {therapy, route}."),
    ]
    findings: Annotated[list[TermInput], Field(default_factory=list, max_length=MAX_TERMS)]
    deceased: Annotated[
        StrictBool | date | None,
        Field(
            default=None,
            description="true, or the date of death (FHIR deceasedBoolean / deceasedDateTime): the answer then "
            "presents no option, question or warning as actionable, and `age` is the age at death.",
        ),
    ] = None
    as_of: Annotated[
        date | None,
        Field(
            default=None,
            description="The evaluation date the record was read at (a Bundle's ages and what is current are "
            "judged on it; default today). Echoed in the answer.",
        ),
    ] = None

    @model_validator(mode="after")
    def _something_to_answer(self) -> PatientInput:
        """SPEC §4: conditions may be empty only when current_therapies is not."""
        if not self.conditions and not self.current_therapies:
            raise PatientInputError("conditions", "at least one condition, or a current therapy, is needed")
        return self


#: a record read from a Bundle holds a lifetime of distinct codes (a Synthea record: 20 conditions, over 100
#: medications and procedures); the plain document's limit of 100 per list stays for hand-written JSON
MAX_BUNDLE_TERMS = 2000


class BundlePatientInput(PatientInput):
    """The patient document a FHIR Bundle states: the same, with room for a real record's codes (the Bundle
    itself is bounded by the body limit and the number of entries)."""

    conditions: Annotated[list[ConditionInput], Field(default_factory=list, max_length=MAX_BUNDLE_TERMS)]
    therapies_tried: Annotated[list[TherapyInput], Field(default_factory=list, max_length=MAX_BUNDLE_TERMS)]
    current_therapies: Annotated[list[TherapyInput], Field(default_factory=list, max_length=MAX_BUNDLE_TERMS)]
    findings: Annotated[list[TermInput], Field(default_factory=list, max_length=MAX_BUNDLE_TERMS)]


def parse_patient(data: object) -> PatientInput:
    """Validate a decoded JSON document; the error names the first offending field."""
    try:
        return PatientInput.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "patient"
        raise PatientInputError(where, first["msg"]) from None


@dataclass(frozen=True)
class PatientFacts:
    """What the engines see: resolved, most specific classes only, no identifiers beyond `id`."""

    id: str | None
    age: int | None
    conditions: frozenset[str]
    tried: frozenset[str]  # includes current therapies: a current therapy has been started
    current: frozenset[str]
    findings: frozenset[str]
    due_to: frozenset[tuple[str, str]] = frozenset()  # (condition, the cause the record names) pairs


@dataclass
class Resolution:
    facts: PatientFacts
    resolved: list[JsonObject] = field(default_factory=list)
    unrecognized: list[JsonObject] = field(default_factory=list)


_CATEGORIES = {
    "conditions": (CONDITION, "a condition"),
    "therapies_tried": (INTERVENTION, "an intervention"),
    "current_therapies": (INTERVENTION, "an intervention"),
    "findings": (FINDING, "a finding"),
}


class PatientResolver:
    """Resolves patient terms against the compiled knowledge and the code systems."""

    def __init__(self, knowledge: Knowledge, code_systems: list[CodeSystem], terms: TermResolver | None = None) -> None:
        self.knowledge = knowledge
        self.terms = terms or TermResolver()
        self.systems = {cs.fhir_system: cs for cs in code_systems}
        self.systems_by_prefix = {cs.uri_prefix: cs for cs in code_systems}

    def resolve(self, patient: PatientInput) -> Resolution:
        resolved: list[JsonObject] = []
        unrecognized: list[JsonObject] = []
        classes: dict[str, set[str]] = {}
        due_to: set[tuple[str, str]] = set()
        for field_name, (root, _) in _CATEGORIES.items():
            found: set[str] = set()
            for index, entry in enumerate(getattr(patient, field_name)):
                where = f"{field_name}[{index}]"
                if isinstance(entry, TherapyWithRoute):
                    outcome = self._resolve_with_route(entry, where, unrecognized)
                    if "term" in outcome:
                        found.add(outcome["iri"])
                    else:
                        unrecognized.append(outcome)
                    continue
                pairs = _with_cause(entry, where)
                iris = []
                for term, at in pairs:
                    outcome = self.resolve_term(term, at, root)
                    if "term" in outcome:
                        found.add(outcome["iri"])
                        iris.append(outcome["iri"])
                        if field_name == "conditions":
                            resolved.append({k: v for k, v in outcome.items() if k != "iri"})
                    else:
                        unrecognized.append(outcome)
                if len(pairs) == 2 and len(iris) == 2:
                    due_to.add((iris[0], iris[1]))
            classes[field_name] = found
        current = frozenset(self._most_specific(classes["current_therapies"]))
        facts = PatientFacts(
            id=patient.id,
            age=patient.age,
            conditions=frozenset(self._most_specific(classes["conditions"])),
            tried=frozenset(self._most_specific(classes["therapies_tried"] | current)),
            current=current,
            findings=frozenset(self._most_specific(classes["findings"])),
            due_to=frozenset(due_to),
        )
        _describe_causes(resolved, causes_of(self.knowledge, facts.conditions, facts.due_to), self)
        return Resolution(facts, resolved, unrecognized)

    def adding(
        self,
        facts: PatientFacts,
        conditions: frozenset[str] = frozenset(),
        current: frozenset[str] = frozenset(),
        findings: frozenset[str] = frozenset(),
    ) -> PatientFacts:
        """`facts` with more conditions, current therapies and findings (classes), most specific only."""
        current = frozenset(self._most_specific(set(facts.current | current)))
        return replace(
            facts,
            conditions=frozenset(self._most_specific(set(facts.conditions | conditions))),
            current=current,
            tried=frozenset(self._most_specific(set(facts.tried | current))),
            findings=frozenset(self._most_specific(set(facts.findings | findings))),
        )

    def _resolve_concept(self, concept: Concept, where: str, root: str) -> JsonObject:
        """The most specific class any coding maps to; the codings are meant to name one concept,
        so a coding that maps to a broader class (M62.838 muscle spasm beside the graph's own
        rheumatic muscle spasm) does not widen it. Codings naming unrelated classes: the first wins,
        and the others are noted. Codings of a condition naming classes the graph declares disjoint
        (spasticity and muscle spasm) are an input error: no reading of them is safe."""
        outcomes = [
            self._resolve_code(c.system, c.code, f"{where}.coding[{i}]", root) for i, c in enumerate(concept.coding)
        ]
        found = [o for o in outcomes if "term" in o]
        if not found:
            return {
                "field": where,
                "input": concept.model_dump(exclude_none=True),
                "reason": "; ".join(o["reason"] for o in outcomes),
            }
        specific = [
            o for o in found if not any(x["iri"] != o["iri"] and self.knowledge.is_a(x["iri"], o["iri"]) for x in found)
        ]
        for i, one in enumerate(specific):
            for other in specific[i + 1 :]:
                k = self.knowledge
                if k.is_a(one["iri"], CONDITION) and k.disjoint_classes(one["iri"], other["iri"]):
                    raise PatientInputError(
                        where,
                        f"the codings name {one['label']} ({one['field']}) and {other['label']} ({other['field']}), "
                        "which the graph declares disjoint: one condition cannot be both; if the patient has both, "
                        "record them as two conditions",
                    )
        chosen = dict(specific[0])
        others = sorted({o["term"] for o in specific[1:] if o["iri"] != chosen["iri"]})
        if others:
            chosen["note"] = " ".join(
                filter(
                    None,
                    [
                        chosen.get("note"),
                        f"other codings of this concept map to {', '.join(others)}; the first is used",
                    ],
                )
            )
        return chosen

    def _resolve_with_route(self, entry: TherapyWithRoute, where: str, unrecognized: list[JsonObject]) -> JsonObject:
        """The therapy, made its product form where the route gives one (baclofen + oral route → oral baclofen).
        A route the graph does not know is reported and the therapy kept as given (its form unstated)."""
        outcome = self.resolve_term(entry.therapy, f"{where}.therapy", INTERVENTION)
        route = self.resolve_term(entry.route, f"{where}.route", ROUTE)
        if "term" not in route:
            unrecognized.append(route)
            return outcome
        if "term" not in outcome:
            return outcome
        k = self.knowledge
        form = k.routes.form(k, outcome["iri"], route["iri"])
        if form is not None:
            return {
                **outcome,
                "iri": form,
                "term": self.terms.compress(form),
                "label": k.label(form),
                "note": f"{outcome['label']} by the {route['label']}: {k.label(form)}",
            }
        own = k.routes.forms.get(outcome["iri"])
        if own is not None and own != route["iri"]:  # a product form given by another route: said, form kept
            unrecognized.append(
                {
                    "field": f"{where}.route",
                    "input": route["input"],
                    "term": route["term"],
                    "reason": f"the {route['label']} is not the route of {outcome['label']}; "
                    f"{outcome['label']} is used",
                }
            )
        return outcome

    def _most_specific(self, classes: set[str]) -> set[str]:
        """Drop a class when a more specific one is also listed (spasticity + focal spasticity → focal)."""
        if len(classes) < 2:
            return classes
        return {c for c in classes if not any(o != c and self.knowledge.is_a(o, c) for o in classes)}

    def resolve_term(self, term: TermInput, where: str, root: str) -> JsonObject:
        """One term under `root` (a condition, intervention or finding class).

        The outcome has `iri`, `term`, `label` and `via` when it resolved, else `field`, `input` and
        the `reason` it did not; an unknown CURIE or a term of the wrong category is an error.
        """
        if isinstance(term, Concept):
            return self._resolve_concept(term, where, root)
        if isinstance(term, Coding):
            return self._resolve_code(term.system, term.code, where, root)
        iri = self.terms.expand(term, field=where)
        if iri.startswith(TKG):
            if iri not in self.knowledge.ancestors:
                raise PatientInputError(where, f"unknown term {term!r}: the graph has no class {iri}")
            if not self.knowledge.is_a(iri, root):
                raise PatientInputError(where, f"{term!r} is not {_CATEGORIES_BY_ROOT[root]}")
            return self._found(term, iri, where, via="term")
        for uri_prefix, system in self.systems_by_prefix.items():
            if iri.startswith(uri_prefix):
                return self._resolve_code(system.fhir_system, iri.removeprefix(uri_prefix), where, root, given=term)
        return {"field": where, "input": term, "reason": "an IRI outside the graph and its code systems"}

    def _resolve_code(self, system: str, code: str, where: str, root: str, given: object | None = None) -> JsonObject:
        given = given if given is not None else {"system": system, "code": code}
        if system == GRAPH_SYSTEM:
            return self._resolve_graph_code(code, where, root, given)
        cs = self.systems.get(system)
        if cs is None:
            return {"field": where, "input": given, "reason": f"code system {system!r} is not one the graph maps"}
        invalid = cs.invalid(code)
        if invalid is not None:  # reported, like any code the graph cannot read, never looked up
            return {"field": where, "input": given, "reason": invalid}
        for candidate in cs.code_and_parents(code):
            for term_iri, predicate in self.knowledge.codes.get(cs.uri_prefix + candidate, ()):
                if self.knowledge.is_a(term_iri, root):
                    outcome = self._found(given, term_iri, where, via="code")
                    outcome["match"] = predicate.rsplit("#", 1)[-1]
                    outcome["code"] = {"system": system, "code": candidate}
                    if candidate != code:
                        outcome["note"] = f"{code} resolved through its parent code {candidate}"
                    return outcome
        noun = _CATEGORIES_BY_ROOT[root].split(" ", 1)[1]
        return {"field": where, "input": given, "reason": f"{system} code {code!r} maps to no {noun} of the graph"}

    def _resolve_graph_code(self, code: str, where: str, root: str, given: object) -> JsonObject:
        """A coding in the graph's own namespace names a term by its local name (a FHIR client has
        no standard code for, e.g., rheumatic muscle spasm). Being a code, an unknown one is
        reported, not refused."""
        iri = TKG + code
        noun = _CATEGORIES_BY_ROOT[root].split(" ", 1)[1]
        if iri not in self.knowledge.ancestors or not self.knowledge.is_a(iri, root):
            return {"field": where, "input": given, "reason": f"the graph has no {noun} {code!r}"}
        outcome = self._found(given, iri, where, via="code")
        outcome["match"] = "exactMatch"
        outcome["code"] = {"system": GRAPH_SYSTEM, "code": code}
        return outcome

    def _found(self, given: object, iri: str, where: str, via: str) -> JsonObject:
        return {
            "field": where,
            "input": given,
            "term": self.terms.compress(iri),
            "iri": iri,
            "label": self.knowledge.label(iri),
            "via": via,
        }


def _with_cause(entry: object, where: str) -> list[tuple[TermInput, str]]:
    """(term, field) of a list entry: the term itself, or the condition and then its cause."""
    if isinstance(entry, ConditionWithCause):
        return [(entry.condition, f"{where}.condition"), (entry.due_to, f"{where}.due_to")]
    return [(entry, where)]  # type: ignore[list-item]  # a TermInput: the list's other member type


def _describe_causes(resolved: list[JsonObject], causes: dict[str, Cause], resolver: PatientResolver) -> None:
    """Add to each resolved condition what causes it (SPEC §5: conditions, resolved, with causes)."""
    compress, label = resolver.terms.compress, resolver.knowledge.label
    for item in resolved:
        cause = causes.get(resolver.terms.expand(item["term"], field=item["field"]))
        if cause is None:
            continue
        item["cause"] = {
            "basis": cause.basis,
            "due_to": [{"term": compress(c), "label": label(c)} for c in sorted(cause.causes)],
            "candidates": [{"term": compress(c), "label": label(c)} for c in sorted(cause.candidates)],
        }


_CATEGORIES_BY_ROOT = {root: text for root, text in _CATEGORIES.values()} | {ROUTE: "a route of administration"}
#: The FHIR `system` of codings that name a term of the graph itself: its namespace.
GRAPH_SYSTEM = TKG
