"""The `owl` engine: patients as OWL individuals, eligibility as generated defined classes, HermiT decides.

This is what an ontology editor reproduces in Protégé with ontology/examples/. It is slow by
nature (a Java process per batch), so it evaluates many patients in one reasoner run.

A batch is classified with the part of the ontology its patients reach (`kg.reasoning.owl_module`), not the
whole graph: the eligibility classes of the statements that can apply to them (found by the terms that can
trigger a statement, the fast engine's rule index), and what those and the patients' classes name. The
statements that name no condition apply by population alone, so one statement of each population stands for
the others: their defined classes are the same expression, hence the same members.
"""

from __future__ import annotations

import io
import uuid

import pyoxigraph as ox
from owlready2 import World
from rdflib import URIRef
from rdflib.namespace import OWL, RDFS

from kg.errors import ReasonerUnavailableError
from kg.knowledge import Knowledge, Statement
from kg.ontology.hermit import HermitBounds, Inferences, classify
from kg.patient.document import PatientFacts
from kg.reasoning import Memberships
from kg.reasoning.fast import FastEngine
from kg.reasoning.owl_classes import (
    CONDITION_QUESTIONS,
    QUESTIONS,
    condition_individual,
    eligibility_graph,
    patients_graph,
    question_class,
)
from kg.reasoning.owl_module import AxiomPool
from kg.store import Store, triples

_RUN_NS = "https://w3id.org/therapy-kg/run/"
NT = ox.RdfFormat.N_TRIPLES
#: patients per HermiT run (measured: 100 take ~1.7 s, 200 take ~6 s)
BATCH = 100


class OwlEngine:
    name = "owl"

    def __init__(self, knowledge: Knowledge, store: Store, bounds: HermitBounds = HermitBounds()) -> None:
        self.knowledge = knowledge
        self.bounds = bounds
        release = list(triples(store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")))
        eligibility = eligibility_graph(knowledge)
        eligibility.remove((None, OWL.imports, None))
        #: classes HermiT must name in a complete answer: each has a named superclass other than owl:Thing
        self._classified = frozenset(
            str(c)
            for c, d in eligibility.subject_objects(RDFS.subClassOf)
            if isinstance(c, URIRef) and isinstance(d, URIRef) and d != OWL.Thing
        )
        generated = [q.triple for q in ox.parse(eligibility.serialize(format="nt", encoding="utf-8"), format=NT)]
        self._pool = AxiomPool([*release, *generated], defined_classes_from=release)
        self._questions = {
            question_class(q, s.iri): (q, s.iri) for s in knowledge.statements for q in QUESTIONS + CONDITION_QUESTIONS
        }
        self._fast = FastEngine(knowledge)
        #: the statements naming no condition, by population: the first stands for the others
        self._standing_for = {iris[0]: iris for iris in self._fast.index.everyone.values()}

    def memberships(self, patients: list[PatientFacts]) -> list[Memberships]:
        """Classify in chunks: HermiT's realisation time grows faster than linearly with individuals."""
        results: list[Memberships] = []
        for start in range(0, len(patients), BATCH):
            results.extend(self._classify_batch(patients[start : start + BATCH]))
        return results

    def _classify_batch(self, patients: list[PatientFacts]) -> list[Memberships]:
        run = f"{_RUN_NS}{uuid.uuid4().hex}/"
        iris = [f"{run}patient{i}" for i in range(len(patients))]
        module, people_triples = self.module(iris, patients)
        data = io.BytesIO()
        ox.serialize(dict.fromkeys([*module, *people_triples]), data, format=NT)
        world = World()
        try:
            world.get_ontology(run).load(fileobj=io.BytesIO(data.getvalue()), format="ntriples")
            inferences = classify(world, self.bounds)
        finally:
            world.close()
        self._check_complete(
            inferences,
            iris,
            self._classified & {t.subject.value for t in module if isinstance(t.subject, ox.NamedNode)},
        )
        return [
            self._read(
                inferences.all_types(iri),
                {c: inferences.all_types(condition_individual(iri, c)) for c in sorted(facts.conditions)},
            )
            for iri, facts in zip(iris, patients, strict=True)
        ]

    def module(self, iris: list[str], patients: list[PatientFacts]) -> tuple[list[ox.Triple], list[ox.Triple]]:
        """What a batch is classified with: the part of the ontology its patients reach, and the patients (named
        `iris`) as individuals."""
        statements = self._reachable(patients)
        people = patients_graph(list(zip(iris, patients, strict=True)), self.knowledge, statements=statements)
        people_triples = [q.triple for q in ox.parse(people.serialize(format="nt", encoding="utf-8"), format=NT)]
        seeds = {question_class(q, s.iri) for s in statements for q in QUESTIONS + CONDITION_QUESTIONS}
        seeds |= {t.object.value for t in people_triples if isinstance(t.object, ox.NamedNode)}
        return self._pool.module(seeds), people_triples

    def _reachable(self, patients: list[PatientFacts]) -> list[Statement]:
        """The statements that can apply to these patients or have their prerequisites met by them (the fast
        engine's rule index), and one statement naming no condition for each population."""
        positions: set[int] = set()
        for p in patients:
            positions.update(self._fast.candidates(p))
        iris = {self._fast.rules[i].iri for i in positions} | set(self._standing_for)
        return [self.knowledge.by_iri[iri] for iri in sorted(iris)]

    def _check_complete(self, inferences: Inferences, iris: list[str], classified: frozenset[str]) -> None:
        """Fail closed: an answer missing a class of the module's hierarchy or a patient's types is no answer (a
        `java` that exits 0 having printed nothing or half would otherwise read as "nothing applies")."""
        missing = classified - inferences.named
        untyped = [iri for iri in iris if not inferences.types.get(iri)]
        if missing or untyped:
            raise ReasonerUnavailableError(
                f"the HermiT reasoner's answer is incomplete: {len(missing)} of {len(classified)} eligibility "
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
        for question in ("Applies", "PossiblyApplies"):  # one statement naming no condition stands for its population's
            found[question] |= {
                iri for first in found[question] & self._standing_for.keys() for iri in self._standing_for[first]
            }
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
