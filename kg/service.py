"""The one entry point the CLI, the API and the tests share: resolve a patient, run an engine, explain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from kg.engines import ENGINE_NAMES, Engine
from kg.engines.fast import FastEngine
from kg.errors import PatientInputError
from kg.evaluation import Evaluator
from kg.fhir import BundleReading, read_bundle, with_bundle_report
from kg.hermit import HermitBounds
from kg.knowledge import Knowledge, compile_knowledge
from kg.mappings import read_code_systems
from kg.patient import PatientInput, PatientResolver, Resolution, parse_patient
from kg.resources import ontology_dir
from kg.store import Store
from kg.terms import TermResolver

T = TypeVar("T")


class TherapyKG:
    """Knowledge compiled once from a store; evaluations share it and never share patient data."""

    def __init__(self, store: Store, *, source_dir: Path | None = None, bounds: HermitBounds = HermitBounds()) -> None:
        self.store = store
        self.bounds = bounds
        self.terms = TermResolver()
        self.knowledge: Knowledge = compile_knowledge(store)
        self.resolver = PatientResolver(self.knowledge, read_code_systems(source_dir or ontology_dir()), self.terms)
        self.evaluator = Evaluator(self.knowledge, self.terms)
        self.fast = FastEngine(self.knowledge)

    @cached_property
    def owl(self) -> Engine:
        from kg.engines.owl import OwlEngine

        return OwlEngine(self.knowledge, self.store, self.bounds)

    def engine(self, name: str) -> Engine:
        if name not in ENGINE_NAMES:
            raise PatientInputError("engine", f"unknown engine {name!r}; use one of: {', '.join(ENGINE_NAMES)}")
        return self.fast if name == "fast" else self.owl

    def evaluate(self, patient: PatientInput | BundleReading, engine: str = "fast") -> dict:
        return self.evaluate_many([patient], engine)[0]

    def evaluate_many(self, patients: list[PatientInput | BundleReading], engine: str = "fast") -> list[dict]:
        """Evaluate several patients; the owl engine classifies them in one reasoner run.

        A patient read from a FHIR Bundle keeps its report: what the Bundle held that was not read
        comes back in `unrecognized`, with the Bundle path of each unrecognised term.
        """
        return self._evaluate(patients, engine, self.evaluator.evaluate)

    def evaluate_many_json(self, patients: list[PatientInput | BundleReading], engine: str = "fast") -> list[bytes]:
        """`evaluate_many`, each document as JSON bytes (what the API and NDJSON batches write)."""
        return self._evaluate(patients, engine, self.evaluator.evaluate_json)

    def evaluate_document(self, data: object, engine: str = "fast") -> dict:
        """A decoded JSON document: the patient JSON of SPEC §4 or a FHIR R4 Bundle."""
        return self.evaluate(self.read_document(data), engine)

    def evaluate_document_json(self, data: object, engine: str = "fast") -> bytes:
        """`evaluate_document` as JSON bytes, written straight from the evaluator's parts."""
        return self.evaluate_many_json([self.read_document(data)], engine)[0]

    def _evaluate(self, patients: list[PatientInput | BundleReading], engine: str, write: Callable[..., T]) -> list[T]:
        chosen = self.engine(engine)
        resolutions = [self._resolve(p) for p in patients]
        memberships = chosen.memberships([r.facts for r in resolutions])
        return [write(r, m, chosen.name) for r, m in zip(resolutions, memberships)]

    def _resolve(self, patient: PatientInput | BundleReading) -> Resolution:
        if isinstance(patient, BundleReading):
            resolution = self.resolver.resolve(patient.patient)
            return replace(resolution, unrecognized=with_bundle_report(resolution.unrecognized, patient))
        return self.resolver.resolve(patient)

    def read_document(self, data: object) -> PatientInput | BundleReading:
        """The patient JSON of SPEC §4, or a FHIR R4 Bundle read together with its report."""
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            return read_bundle(data)
        if isinstance(data, dict) and "resourceType" in data:
            raise PatientInputError("resourceType", f"expected a FHIR Bundle, got {str(data['resourceType'])[:100]!r}")
        return parse_patient(data)
