"""Generate the OWL defined classes of eligibility from the statements, and patients as individuals.

For every statement S the generator writes (namespace `tkge:`):
- `Applies_S`          ≡ Patient ⊓ ∃hasCondition.(S's conditions) ⊓ (S's population)
- `PossiblyApplies_S`  ≡ Patient ⊓ ∃hasCondition.(S's conditions ⊔ conditions recorded only as a
  less specific class) ⊓ (S's population ⊔ ≤0 ageInYears)          [only where it can differ]
- `PrerequisitesMet_S` ≡ Patient ⊓ ∃hasTried.(prior-line options) ⊓ ∃hasFinding.(required finding)

A statement that applies per indication (it names an indication or a cause of one) is decided on the
patient's condition individuals instead: `AppliesFor_S` and `PossiblyAppliesFor_S` (see
`_define_by_indication`), with `Applies_S ≡ Patient ⊓ ∃hasCondition.AppliesFor_S`; the engine asserts
`tkge:dueTo` / `tkge:possiblyDueTo` between condition individuals from `kg.patient.causes`.

The closed-world facts these need are asserted explicitly on each patient by the engine, from
the positive facts of the record: every condition individual is typed `RecordedAs_C` (recorded as
C and nothing more specific), a patient without an age gets `ageInYears max 0`, and a patient without a
condition that can put an indication in doubt (`Statement.in_doubt_with`) gets `hasCondition max 0` of it. HermiT then
decides membership; nothing relies on the open-world reasoner inferring a negation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.knowledge import CONDITION, PATIENT, Knowledge, Statement
from kg.patient.causes import causes_of
from kg.patient.document import PatientFacts
from kg.store.terms import TKG

TKGE = "https://w3id.org/therapy-kg/eligibility/"
ELIGIBILITY_ONTOLOGY = "https://w3id.org/therapy-kg/ontology/examples/eligibility"
MAIN_ONTOLOGY = "https://w3id.org/therapy-kg/ontology"
DEFINITION = URIRef("http://purl.obolibrary.org/obo/IAO_0000115")
HAS_CONDITION, HAS_TRIED, CURRENTLY_RECEIVES, HAS_FINDING, AGE = (
    URIRef(TKG + p) for p in ("hasCondition", "hasTried", "currentlyReceives", "hasFinding", "ageInYears")
)
#: between two condition individuals of a patient: the first results from the second (known, or one of the
#: undetermined candidates); asserted by the engine from `kg.patient.causes`
DUE_TO, POSSIBLY_DUE_TO = URIRef(TKGE + "dueTo"), URIRef(TKGE + "possiblyDueTo")
QUESTIONS = ("Applies", "PossiblyApplies", "PrerequisitesMet")
#: the questions asked of a patient's condition individuals, for statements that apply per indication
CONDITION_QUESTIONS = ("AppliesFor", "PossiblyAppliesFor")


def local_name(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def question_class(question: str, statement_iri: str) -> str:
    return f"{TKGE}{question}_{local_name(statement_iri)}"


def recorded_as_class(condition_iri: str) -> str:
    return f"{TKGE}RecordedAs_{local_name(condition_iri)}"


class _Builder:
    def __init__(self, graph: rdflib.Graph) -> None:
        self.g = graph

    def union(self, classes: Iterable[str]) -> rdflib.term.Node:
        members = [URIRef(c) for c in sorted(classes)]
        if not members:
            return OWL.Nothing
        return members[0] if len(members) == 1 else self.union_nodes(members)

    def union_nodes(self, nodes: Sequence[rdflib.term.Node]) -> BNode:
        node = BNode()
        self.g.add((node, RDF.type, OWL.Class))
        self.g.add((node, OWL.unionOf, self.rdf_list(nodes)))
        return node

    def intersection(self, parts: Sequence[rdflib.term.Node]) -> rdflib.term.Node:
        node = BNode()
        self.g.add((node, RDF.type, OWL.Class))
        self.g.add((node, OWL.intersectionOf, self.rdf_list(parts)))
        return node

    def some(self, prop: URIRef, filler: rdflib.term.Node) -> rdflib.term.Node:
        node = BNode()
        self.g.add((node, RDF.type, OWL.Restriction))
        self.g.add((node, OWL.onProperty, prop))
        self.g.add((node, OWL.someValuesFrom, filler))
        return node

    def max_zero(self, prop: URIRef, on_class: str | None = None) -> rdflib.term.Node:
        """≤0 prop, or ≤0 prop.on_class (qualified)."""
        node = BNode()
        self.g.add((node, RDF.type, OWL.Restriction))
        self.g.add((node, OWL.onProperty, prop))
        zero = Literal(0, datatype=XSD.nonNegativeInteger)
        if on_class is None:
            self.g.add((node, OWL.maxCardinality, zero))
        else:
            self.g.add((node, OWL.onClass, URIRef(on_class)))
            self.g.add((node, OWL.maxQualifiedCardinality, zero))
        return node

    def rdf_list(self, items: Sequence[rdflib.term.Node]) -> BNode:
        head = BNode()
        Collection(self.g, head, list(items))
        return head

    def any_of(self, nodes: Sequence[rdflib.term.Node]) -> rdflib.term.Node:
        """The one class, or the union of several."""
        return nodes[0] if len(nodes) == 1 else self.union_nodes(nodes)

    def inverse_some(self, prop: URIRef, filler: rdflib.term.Node) -> rdflib.term.Node:
        """∃ inverse(prop).filler"""
        inverse = BNode()
        self.g.add((inverse, OWL.inverseOf, prop))
        return self.some(inverse, filler)  # type: ignore[arg-type]  # an inverse property expression

    def define(self, iri: str, parts: list[rdflib.term.Node], label: str, definition: str, of: str = PATIENT) -> None:
        cls = URIRef(iri)
        self.g.add((cls, RDF.type, OWL.Class))
        self.g.add((cls, OWL.equivalentClass, self.intersection([URIRef(of), *parts])))
        self.g.add((cls, RDFS.label, Literal(label, lang="en")))
        self.g.add((cls, DEFINITION, Literal(definition, lang="en")))


def eligibility_graph(knowledge: Knowledge) -> rdflib.Graph:
    """The generated defined classes, as an ontology that imports therapy-kg."""
    g = rdflib.Graph()
    g.bind("tkg", TKG)
    g.bind("tkge", TKGE)
    g.bind("obo", "http://purl.obolibrary.org/obo/")
    onto = URIRef(ELIGIBILITY_ONTOLOGY)
    g.add((onto, RDF.type, OWL.Ontology))
    g.add((onto, OWL.imports, URIRef(MAIN_ONTOLOGY)))
    g.add(
        (
            onto,
            RDFS.comment,
            Literal(
                "Generated by therapy-kg from the statements of the graph; do not edit. Each statement S has "
                "Applies_S, and where they can differ PossiblyApplies_S and PrerequisitesMet_S. The engine derives a "
                "status from these memberships: excluded or not indicated when a contraindication or non-indication "
                "applies; undetermined when one only possibly applies; eligible when a recommendation applies and its "
                "prerequisites are met; deferred when it applies and they are not.",
                lang="en",
            ),
        )
    )
    b = _Builder(g)
    for prop, label in ((DUE_TO, "due to"), (POSSIBLY_DUE_TO, "possibly due to")):
        g.add((prop, RDF.type, OWL.ObjectProperty))
        g.add((prop, RDFS.label, Literal(label, lang="en")))
        g.add(
            (
                prop,
                DEFINITION,
                Literal(
                    f"Between two conditions of a patient: the first results from the second ({label}; asserted by "
                    "the engine from the record's cause, or the rule for an unstated cause).",
                    lang="en",
                ),
            )
        )
    for condition in knowledge.classes_under(CONDITION):
        cls = URIRef(recorded_as_class(condition))
        g.add((cls, RDF.type, OWL.Class))
        g.add((cls, RDFS.subClassOf, URIRef(condition)))
        g.add((cls, RDFS.label, Literal(f"condition recorded as {knowledge.label(condition)}", lang="en")))
        g.add(
            (
                cls,
                DEFINITION,
                Literal(
                    f"A condition the patient record names as {knowledge.label(condition)} and nothing more specific "
                    "(asserted by the engine from the record).",
                    lang="en",
                ),
            )
        )
    for s in knowledge.statements:
        _define_statement(b, knowledge, s)
    return g


def _define_statement(b: _Builder, knowledge: Knowledge, s: Statement) -> None:
    if s.by_indication:
        _define_by_indication(b, s)
    else:
        _define_for_patient(b, s)
    if s.prior_line is not None or s.required_findings:
        met: list[Any] = []
        if s.prior_line is not None:
            met.append(b.some(HAS_TRIED, b.union(s.prior_options)))
        for finding in sorted(s.required_findings):
            met.append(b.some(HAS_FINDING, URIRef(finding)))
        b.define(
            question_class("PrerequisitesMet", s.iri),
            met,
            f"patient meeting the prerequisites of '{s.label}'",
            f"A patient who meets the prerequisites of the statement {local_name(s.iri)}.",
        )


def _define_by_indication(b: _Builder, s: Statement) -> None:
    """The statement's classes of the patient's conditions (as indications), and of patients having one:

    AppliesFor_S ≡ Condition ⊓ (⊔indications ⊔ ∃dueTo.⊔causes) ⊓
                   ∃hasCondition⁻.(population ⊓ ∃hasCondition.⊔coexisting ⊓ ⊓(≤0 hasCondition.D for D in in-doubt-with))
    PossiblyAppliesFor_S drops the in-doubt part and adds the indications' less specific classes as recorded,
    ∃possiblyDueTo.⊔causes and a missing age;
    Applies_S ≡ Patient ⊓ ∃hasCondition.AppliesFor_S, PossiblyApplies_S likewise."""
    label = s.label
    causes = [b.some(DUE_TO, b.union(s.indication_causes))] if s.indication_causes else []
    maybe_causes = [b.some(POSSIBLY_DUE_TO, b.union(s.indication_causes))] if s.indication_causes else []
    patient: list[Any] = [URIRef(s.population)] if s.population else []
    maybe_patient: list[Any] = [b.union_nodes([URIRef(s.population), b.max_zero(AGE)])] if s.population else []
    if s.coexisting:
        patient.append(b.some(HAS_CONDITION, b.union(s.coexisting)))
        maybe_patient.append(b.some(HAS_CONDITION, b.union(s.coexisting)))
    patient += [b.max_zero(HAS_CONDITION, doubt) for doubt in sorted(s.in_doubt_with)]  # nothing puts it in doubt
    indications = [URIRef(c) for c in sorted(s.indications)]
    recorded = [URIRef(recorded_as_class(p)) for p in sorted(s.indication_parents)]
    applies_for, maybe_for = question_class("AppliesFor", s.iri), question_class("PossiblyAppliesFor", s.iri)
    b.define(
        applies_for,
        [
            b.union_nodes([*indications, *causes]),
            b.inverse_some(HAS_CONDITION, b.intersection([URIRef(PATIENT), *patient])),
        ],
        f"condition for which '{label}' applies",
        f"A condition of a patient, as the indication treated, for which the statement {local_name(s.iri)} applies.",
        of=CONDITION,
    )
    b.define(
        maybe_for,
        [
            b.any_of([*indications, *recorded, *causes, *maybe_causes]),
            b.inverse_some(HAS_CONDITION, b.intersection([URIRef(PATIENT), *maybe_patient])),
        ],
        f"condition for which '{label}' may apply",
        f"A condition of a patient for which the statement {local_name(s.iri)} applies, or would if the record "
        "said more.",
        of=CONDITION,
    )
    b.define(
        question_class("Applies", s.iri),
        [b.some(HAS_CONDITION, URIRef(applies_for))],
        f"patient to whom '{label}' applies",
        f"A patient to whom the statement {local_name(s.iri)} applies, for one of their conditions.",
    )
    b.define(
        question_class("PossiblyApplies", s.iri),
        [b.some(HAS_CONDITION, URIRef(maybe_for))],
        f"patient to whom '{label}' may apply",
        f"A patient to whom the statement {local_name(s.iri)} may apply, for one of their conditions.",
    )


def _define_for_patient(b: _Builder, s: Statement) -> None:
    label = s.label
    applies: list[Any] = []
    if s.conditions:
        applies.append(b.some(HAS_CONDITION, b.union(s.conditions)))
    if s.population:
        applies.append(URIRef(s.population))
    b.define(
        question_class("Applies", s.iri),
        applies,
        f"patient to whom '{label}' applies",
        f"A patient to whom the statement {local_name(s.iri)} applies.",
    )
    if s.condition_parents or s.population:
        possibly: list[Any] = []
        if s.conditions:
            recorded = {recorded_as_class(p) for p in s.condition_parents}
            possibly.append(b.some(HAS_CONDITION, b.union(set(s.conditions) | recorded)))
        if s.population:
            possibly.append(b.union_nodes([URIRef(s.population), b.max_zero(AGE)]))
        b.define(
            question_class("PossiblyApplies", s.iri),
            possibly,
            f"patient to whom '{label}' may apply",
            f"A patient to whom the statement {local_name(s.iri)} applies or would apply if the record said more.",
        )


def condition_individual(patient_iri: str, condition: str) -> str:
    """The individual of a patient's recorded condition (what the per-indication classes classify)."""
    return f"{patient_iri}-{local_name(HAS_CONDITION)}-{local_name(condition)}"


def patients_graph(
    patients: list[tuple[str, PatientFacts]],
    knowledge: Knowledge,
    labels: dict[str, str] | None = None,
    statements: Iterable[Statement] | None = None,
) -> rdflib.Graph:
    """Patients as OWL individuals, with the engine's explicit closed-world assertions, and what causes each
    condition (`kg.patient.causes`: dueTo a known cause, possiblyDueTo each undetermined candidate). The
    closed-world assertions about conditions that put an indication in doubt are those of `statements` (default:
    all; the owl engine gives the statements its batch is classified with)."""
    g = rdflib.Graph()
    g.bind("tkg", TKG)
    g.bind("tkge", TKGE)
    b = _Builder(g)
    doubting = {c for s in (knowledge.statements if statements is None else statements) for c in s.in_doubt_with}
    for iri, facts in patients:
        patient = URIRef(iri)
        g.add((patient, RDF.type, OWL.NamedIndividual))
        g.add((patient, RDF.type, URIRef(PATIENT)))
        if labels and iri in labels:
            g.add((patient, RDFS.label, Literal(labels[iri], lang="en")))
        if facts.age is not None:
            g.add((patient, AGE, Literal(facts.age, datatype=XSD.integer)))
        else:
            g.add((patient, RDF.type, b.max_zero(AGE)))  # closed world, made explicit: no age recorded
        recorded = {a for c in facts.conditions for a in knowledge.ancestors.get(c, {c})}
        for doubt in sorted(doubting - recorded):  # closed world, made explicit: none of these recorded
            g.add((patient, RDF.type, b.max_zero(HAS_CONDITION, doubt)))
        for prop, classes, typer in (
            (HAS_CONDITION, facts.conditions, recorded_as_class),
            (HAS_TRIED, facts.tried - facts.current, str),
            (CURRENTLY_RECEIVES, facts.current, str),
            (HAS_FINDING, facts.findings, str),
        ):
            for cls in sorted(classes):
                value = URIRef(f"{iri}-{local_name(prop)}-{local_name(cls)}")
                g.add((value, RDF.type, OWL.NamedIndividual))
                g.add((value, RDF.type, URIRef(typer(cls))))
                g.add((patient, prop, value))
        for condition, cause in causes_of(knowledge, facts.conditions, facts.due_to).items():
            individual = URIRef(condition_individual(iri, condition))
            for link, targets in ((DUE_TO, cause.causes), (POSSIBLY_DUE_TO, cause.candidates)):
                for target in sorted(targets):
                    other = URIRef(condition_individual(iri, target))
                    if target not in facts.conditions:  # a stated cause a more specific record replaced
                        g.add((other, RDF.type, OWL.NamedIndividual))
                        g.add((other, RDF.type, URIRef(recorded_as_class(target))))
                    g.add((individual, link, other))
    return g
