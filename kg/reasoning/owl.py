"""The `owl` engine: patients as OWL individuals, eligibility as generated defined classes, HermiT decides.

This is what an ontology editor reproduces in Protégé with ontology/examples/. It is slow by
nature (a Java process per batch), so it evaluates many patients in one reasoner run.
"""

from __future__ import annotations

import io
import uuid

import pyoxigraph as ox
from owlready2 import World
from rdflib import URIRef
from rdflib.namespace import OWL, RDFS

from kg.errors import ReasonerUnavailableError
from kg.knowledge import Knowledge
from kg.ontology.hermit import HermitBounds, Inferences, classify
from kg.patient.document import PatientFacts
from kg.reasoning import Memberships
from kg.reasoning.owl_classes import (
    CONDITION_QUESTIONS,
    QUESTIONS,
    condition_individual,
    eligibility_graph,
    patients_graph,
    question_class,
)
from kg.store import Store, triples

_RUN_NS = "https://w3id.org/therapy-kg/run/"
#: patients per HermiT run (measured: 100 take ~1.7 s, 200 take ~6 s)
BATCH = 100


class OwlEngine:
    name = "owl"

    def __init__(self, knowledge: Knowledge, store: Store, bounds: HermitBounds = HermitBounds()) -> None:
        self.knowledge = knowledge
        self.bounds = bounds
        release = triples(store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"))
        static = io.BytesIO()
        ox.serialize(release, static, format=ox.RdfFormat.N_TRIPLES)
        eligibility = eligibility_graph(knowledge)
        eligibility.remove((None, OWL.imports, None))
        #: classes HermiT must name in a complete answer: each has a named superclass other than owl:Thing
        self._classified = frozenset(
            str(c)
            for c, d in eligibility.subject_objects(RDFS.subClassOf)
            if isinstance(c, URIRef) and isinstance(d, URIRef) and d != OWL.Thing
        )
        static.write(eligibility.serialize(format="nt", encoding="utf-8"))
        self._static = static.getvalue()
        self._questions = {
            question_class(q, s.iri): (q, s.iri) for s in knowledge.statements for q in QUESTIONS + CONDITION_QUESTIONS
        }

    def memberships(self, patients: list[PatientFacts]) -> list[Memberships]:
        """Classify in chunks: HermiT's realisation time grows faster than linearly with individuals."""
        results: list[Memberships] = []
        for start in range(0, len(patients), BATCH):
            results.extend(self._classify_batch(patients[start : start + BATCH]))
        return results

    def _classify_batch(self, patients: list[PatientFacts]) -> list[Memberships]:
        run = f"{_RUN_NS}{uuid.uuid4().hex}/"
        iris = [f"{run}patient{i}" for i in range(len(patients))]
        data = self._static + patients_graph(list(zip(iris, patients, strict=False)), self.knowledge).serialize(
            format="nt", encoding="utf-8"
        )
        world = World()
        try:
            world.get_ontology(run).load(fileobj=io.BytesIO(data), format="ntriples")
            inferences = classify(world, self.bounds)
        finally:
            world.close()
        self._check_complete(inferences, iris)
        return [
            self._read(
                inferences.all_types(iri),
                {c: inferences.all_types(condition_individual(iri, c)) for c in sorted(facts.conditions)},
            )
            for iri, facts in zip(iris, patients, strict=True)
        ]

    def _check_complete(self, inferences: Inferences, iris: list[str]) -> None:
        """Fail closed: an answer missing a class of the hierarchy or a patient's types is no answer (a
        `java` that exits 0 having printed nothing or half would otherwise read as "nothing applies")."""
        missing = self._classified - inferences.named
        untyped = [iri for iri in iris if not inferences.types.get(iri)]
        if missing or untyped:
            raise ReasonerUnavailableError(
                f"the HermiT reasoner's answer is incomplete: {len(missing)} of {len(self._classified)} eligibility "
                f"classes and {len(untyped)} of {len(iris)} patients are missing from it"
            )

    def _read(self, types: set[str], condition_types: dict[str, set[str]]) -> Memberships:
        """The memberships from the classes of the patient and of each of its conditions."""
        found: dict[str, set[str]] = {q: set() for q in QUESTIONS}
        for cls in types:
            if cls in self._questions and self._questions[cls][0] in found:
                question, statement = self._questions[cls]
                found[question].add(statement)
        pairs: dict[str, set[tuple[str, str]]] = {q: set() for q in CONDITION_QUESTIONS}
        for condition, classes in condition_types.items():
            for cls in classes:
                if cls in self._questions and self._questions[cls][0] in pairs:
                    question, statement = self._questions[cls]
                    pairs[question].add((statement, condition))
        applies = frozenset(found["Applies"])
        applies_for = frozenset(pairs["AppliesFor"])
        # closed-world step, explicit: "possibly" means a member of PossiblyApplies but not of Applies
        return Memberships(
            applies,
            frozenset(found["PossiblyApplies"] - applies),
            frozenset(found["PrerequisitesMet"]),
            applies_for,
            frozenset(pairs["PossiblyAppliesFor"] - applies_for),
        )
