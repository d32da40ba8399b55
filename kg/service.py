"""The one entry point the CLI, the API and the tests share: resolve a patient, run an engine, explain."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from kg.errors import PatientInputError
from kg.json_types import JsonObject
from kg.knowledge import Knowledge, compile_knowledge
from kg.ontology.hermit import HermitBounds
from kg.ontology.mappings import read_code_systems
from kg.patient.document import PatientFacts, PatientInput, PatientResolver, Resolution, parse_patient
from kg.patient.doubtful import ROOTS, Doubtful, QuestionTemplates, inconsistent_findings, settle
from kg.patient.fhir import BundleReading, bundle_path, read_bundle, with_bundle_report
from kg.reasoning import ENGINE_NAMES, Engine
from kg.reasoning.deceased import withheld_for_deceased
from kg.reasoning.evaluation import Evaluator
from kg.reasoning.fast import FastEngine
from kg.resources import ontology_dir
from kg.store import Store
from kg.store.terms import TermResolver

#: A patient ready for the engine: the resolution without doubtful facts, and the facts with them.
_Variant = tuple[tuple[Doubtful, ...], PatientFacts]
#: ... and warnings about the record itself (a finding without the therapy it presupposes)
_Prepared = tuple[Resolution, list[_Variant], list[JsonObject]]


class TherapyKG:
    """Knowledge compiled once from a store; evaluations share it and never share patient data."""

    def __init__(self, store: Store, *, source_dir: Path | None = None, bounds: HermitBounds = HermitBounds()) -> None:
        self.store = store
        self.bounds = bounds
        self.terms = TermResolver()
        self.knowledge: Knowledge = compile_knowledge(store)
        self.resolver = PatientResolver(self.knowledge, read_code_systems(source_dir or ontology_dir()), self.terms)
        self.evaluator = Evaluator(self.knowledge, self.terms)
        self.questions = QuestionTemplates(store, self.knowledge)
        self.fast = FastEngine(self.knowledge)

    @cached_property
    def owl(self) -> Engine:
        from kg.reasoning.owl import OwlEngine

        return OwlEngine(self.knowledge, self.store, self.bounds)

    def engine(self, name: str) -> Engine:
        if name not in ENGINE_NAMES:
            raise PatientInputError("engine", f"unknown engine {name!r}; use one of: {', '.join(ENGINE_NAMES)}")
        return self.fast if name == "fast" else self.owl

    def evaluate(self, patient: PatientInput | BundleReading, engine: str = "fast") -> JsonObject:
        return self.evaluate_many([patient], engine)[0]

    def evaluate_many(self, patients: list[PatientInput | BundleReading], engine: str = "fast") -> list[JsonObject]:
        """Evaluate several patients; the owl engine classifies them in one reasoner run.

        A patient read from a FHIR Bundle keeps its report: what the Bundle held that was not read
        comes back in `unrecognized`, with the Bundle path of each unrecognised term.
        """
        return self._evaluate(patients, engine, as_json=False)

    def evaluate_many_json(self, patients: list[PatientInput | BundleReading], engine: str = "fast") -> list[bytes]:
        """`evaluate_many`, each document as JSON bytes (what the API and NDJSON batches write)."""
        return self._evaluate(patients, engine, as_json=True)

    def evaluate_document(self, data: object, engine: str = "fast", as_of: date | None = None) -> JsonObject:
        """A decoded JSON document: the patient JSON of SPEC §4 or a FHIR R4 Bundle, read at `as_of`."""
        return self.evaluate(self.read_document(data, as_of), engine)

    def evaluate_document_json(self, data: object, engine: str = "fast", as_of: date | None = None) -> bytes:
        """`evaluate_document` as JSON bytes, written straight from the evaluator's parts."""
        return self.evaluate_many_json([self.read_document(data, as_of)], engine)[0]

    def _evaluate(self, patients: list[PatientInput | BundleReading], engine: str, as_json: bool) -> list[Any]:
        """Each patient's facts, and its facts with its doubtful ones, in one engine call
        (the owl engine classifies them in one reasoner run); doubtful facts settled by `kg.patient.doubtful`."""
        chosen = self.engine(engine)
        prepared = [self._prepare(p) for p in patients]
        memberships = iter(
            chosen.memberships([f for r, variants, _ in prepared for f in (r.facts, *(facts for _, facts in variants))])
        )
        documents: list[Any] = []
        for patient, (resolution, variants, record_warnings) in zip(patients, prepared, strict=True):
            m = next(memberships)
            given = patient.patient if isinstance(patient, BundleReading) else patient
            if not variants and not record_warnings and given.as_of is None and given.deceased in (None, False):
                write = self.evaluator.evaluate_json if as_json else self.evaluator.evaluate
                documents.append(write(resolution, m, chosen.name))
                continue
            base = self.evaluator.evaluate(resolution, m, chosen.name)
            others = [
                (group, self.evaluator.evaluate(replace(resolution, facts=facts), next(memberships), chosen.name))
                for group, facts in variants
            ]
            document = settle(base, others)
            document["warnings"] += record_warnings
            if given.as_of is not None:
                document["as_of"] = given.as_of.isoformat()
            if given.deceased not in (None, False):
                document = withheld_for_deceased(self.knowledge, document, given.deceased)
            documents.append(orjson.dumps(document) if as_json else document)
        return documents

    def _prepare(self, patient: PatientInput | BundleReading) -> _Prepared:
        reading = patient if isinstance(patient, BundleReading) else None
        document = patient.patient if isinstance(patient, BundleReading) else patient
        try:
            resolution = self.resolver.resolve(document)
        except PatientInputError as exc:  # named where the Bundle holds it, not by the document read from it
            where = bundle_path(reading, exc.field) if reading is not None else None
            if where is None:
                raise
            raise PatientInputError(where, str(exc).removeprefix(f"{exc.field}: ")) from None
        facts, inconsistent, warnings = inconsistent_findings(self.knowledge, resolution.facts, self.terms.compress)
        resolution = replace(resolution, facts=facts)
        if reading is None:
            return resolution, self._variants(facts, inconsistent), warnings
        resolved, variants = self._prepare_bundle(reading, resolution)
        return resolved, self._variants(facts, inconsistent + variants), warnings

    def _prepare_bundle(self, patient: BundleReading, resolution: Resolution) -> tuple[Resolution, list[Doubtful]]:
        """The Bundle's report in `unrecognized`, and its doubtful facts (a status the record does not state)."""
        unrecognized = with_bundle_report(resolution.unrecognized, patient)
        found: dict[tuple[str, str], list[str]] = {}  # (field, class) → records
        doubts: dict[tuple[str, str], str] = {}
        terms: dict[str, str] = {}  # record → the term it resolved to
        for fact in patient.doubtful:
            outcome = self.resolver.resolve_term(fact.concept, fact.source, ROOTS[fact.field])
            if "term" not in outcome:
                unrecognized.append({**outcome, "source": fact.source})
                continue
            key = (fact.field, outcome["iri"])
            found.setdefault(key, []).append(fact.record)
            doubts[key] = "status" if fact.doubt == "status" else doubts.get(key, fact.doubt)
            terms[fact.record] = outcome["term"]
        for item in unrecognized:
            if item["field"] in terms and "term" not in item:
                item["term"] = terms[item["field"]]
        facts = [
            Doubtful(
                field, iri, self.terms.compress(iri), self.questions.question(iri, doubts[(field, iri)]), tuple(records)
            )
            for (field, iri), records in sorted(found.items())
        ]
        return replace(resolution, unrecognized=unrecognized), facts

    def _variants(self, base: PatientFacts, doubtful: list[Doubtful]) -> list[_Variant]:
        """The facts with each doubtful fact, and with all of them when there are several."""
        groups = [(d,) for d in doubtful] + ([tuple(doubtful)] if len(doubtful) > 1 else [])
        variants = []
        for group in groups:
            facts = self.resolver.adding(
                base,
                conditions=frozenset(d.iri for d in group if d.field == "conditions"),
                current=frozenset(d.iri for d in group if d.field == "current_therapies"),
                findings=frozenset(d.iri for d in group if d.field == "findings"),
            )
            if facts != base:
                variants.append((group, facts))
        return variants

    def read_document(self, data: object, as_of: date | None = None) -> PatientInput | BundleReading:
        """The patient JSON of SPEC §4, or a FHIR R4 Bundle read together with its report; `as_of` is the
        evaluation date (default: the document's own `as_of`, else today)."""
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            return read_bundle(data, as_of)
        if isinstance(data, dict) and "resourceType" in data:
            raise PatientInputError("resourceType", f"expected a FHIR Bundle, got {str(data['resourceType'])[:100]!r}")
        patient = parse_patient(data)
        return patient.model_copy(update={"as_of": as_of}) if as_of is not None else patient
