"""`therapy-kg synth N OUT/`: a generated FHIR Bulk Data export for population runs and their benchmarks
(issue 11 item 4). Seeded: the same N and seed give the same bytes.

What real exports hold and a population run must get right: the codes the graph maps (read from the release,
so they are the verified ones), codes it does not know, inactive, resolved and refuted conditions,
provisional ones, stopped and completed medications, deceased patients, and patients with several conditions
of which one is stated to be due to another (the condition-dueTo extension). The codes the graph does not know
are in a system of their own (`urn:therapy-kg:synthetic-code`): invented for testing, they claim nothing.
Lines are shuffled within each file, as a server's export need not keep a patient's resources together.

Codes are drawn as they occur in real records, a few common ones and a long tail: the k-th code of a list with
weight 1/k (Zipf's law), so every code occurs in a large export and most patients share a few hundred fact
patterns (`kg.population.patterns`), while the tail keeps the rare ones coming.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from kg.knowledge import CONDITION, INTERVENTION, Knowledge
from kg.ontology.mappings import read_code_systems
from kg.resources import ontology_dir

#: The system of the codes no graph knows: test input, not clinical content.
SYNTHETIC_SYSTEM = "urn:therapy-kg:synthetic-code"
DUE_TO = "http://hl7.org/fhir/StructureDefinition/condition-dueTo"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
#: Ages are drawn against this date; evaluate with `--as-of` on or after it.
REFERENCE_DATE = date(2026, 1, 1)


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    term: str | None  # the graph's class it maps to; None for a synthetic code


def mapped_codes(knowledge: Knowledge, root: str) -> list[Code]:
    """The codes the release maps to classes under `root`, as FHIR (system, code)."""
    systems = [(s.uri_prefix, s.fhir_system) for s in read_code_systems(ontology_dir())]
    under = set(knowledge.classes_under(root))
    codes = []
    for iri, targets in sorted(knowledge.codes.items()):
        term = next((t for t, _ in targets if t in under), None)
        system = next(((prefix, fhir) for prefix, fhir in systems if iri.startswith(prefix)), None)
        if term is not None and system is not None:
            codes.append(Code(system[1], iri.removeprefix(system[0]), term))
    return codes


def synth_export(knowledge: Knowledge, count: int, out: Path, seed: int = 20261207) -> dict[str, int]:
    """Write `count` patients as Bulk NDJSON files in `out`; how many resources of each type."""
    rng = random.Random(seed)
    conditions = mapped_codes(knowledge, CONDITION)
    medications = [c for c in mapped_codes(knowledge, INTERVENTION) if "rxnorm" in c.system]
    files: dict[str, list[bytes]] = {}
    for n in range(count):
        for resource in _patient(rng, f"p{n:07d}", conditions, medications):
            files.setdefault(resource["resourceType"], []).append(orjson.dumps(resource))
    out.mkdir(parents=True, exist_ok=True)
    for kind, lines in files.items():
        rng.shuffle(lines)
        (out / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return {kind: len(lines) for kind, lines in sorted(files.items())}


def _concept(code: Code) -> dict[str, Any]:
    return {"coding": [{"system": code.system, "code": code.code}]}


def _synthetic(rng: random.Random) -> Code:
    return Code(SYNTHETIC_SYSTEM, f"unknown-{_zipf(rng, 40):02d}", None)


def _zipf(rng: random.Random, n: int) -> int:
    """An index below `n`, the k-th with weight 1/(k+1)."""
    return rng.choices(range(n), cum_weights=_cumulative(n))[0]


def _cumulative(n: int, cache: dict[int, list[float]] = {}) -> list[float]:  # noqa: B006  # a memo, never changed
    if n not in cache:
        total, weights = 0.0, []
        for k in range(n):
            total += 1 / (k + 1)
            weights.append(total)
        cache[n] = weights
    return cache[n]


def _weighted(rng: random.Random, choices: dict[str, float]) -> str:
    return rng.choices(list(choices), weights=list(choices.values()))[0]


def _patient(rng: random.Random, pid: str, conditions: list[Code], medications: list[Code]) -> list[dict[str, Any]]:
    birth = REFERENCE_DATE - timedelta(days=rng.randrange(2 * 365, 95 * 365))
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid, "birthDate": birth.isoformat()}
    if rng.random() < 0.03:
        patient["deceasedDateTime"] = (REFERENCE_DATE - timedelta(days=rng.randrange(1, 900))).isoformat()
    subject = {"reference": f"Patient/{pid}"}
    resources: list[dict[str, Any]] = [patient]
    made: list[tuple[str, Code]] = []
    for i in range(rng.choice((1, 1, 2, 2, 3))):
        code = conditions[_zipf(rng, len(conditions))] if rng.random() < 0.8 else _synthetic(rng)
        cid = f"{pid}-c{i}"
        condition: dict[str, Any] = {
            "resourceType": "Condition",
            "id": cid,
            "subject": subject,
            "code": _concept(code),
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": _weighted(rng, _CLINICAL)}]},
            "verificationStatus": {"coding": [{"system": VERIFICATION, "code": _weighted(rng, _VERIFIED)}]},
        }
        if made and rng.random() < 0.4:  # due to one of the patient's other conditions
            cause_id, _ = rng.choice(made)
            condition["extension"] = [{"url": DUE_TO, "valueReference": {"reference": f"Condition/{cause_id}"}}]
        made.append((cid, code))
        resources.append(condition)
    for i in range(rng.choice((0, 0, 1, 1, 2))):
        code = medications[_zipf(rng, len(medications))] if rng.random() < 0.85 else _synthetic(rng)
        kind, status = _medication(rng)
        resources.append(
            {"resourceType": kind, "id": f"{pid}-m{i}", "subject": subject, "status": status(rng)}
            | {"medicationCodeableConcept": _concept(code)}
            | ({"intent": "order"} if kind == "MedicationRequest" else {})
        )
    return resources


def _medication(rng: random.Random) -> tuple[str, Callable[[random.Random], str]]:
    if rng.random() < 0.5:
        return "MedicationStatement", lambda r: _weighted(r, {"active": 0.7, "stopped": 0.2, "completed": 0.1})
    return "MedicationRequest", lambda r: _weighted(r, {"active": 0.75, "stopped": 0.15, "completed": 0.1})


_CLINICAL = {"active": 0.8, "inactive": 0.1, "resolved": 0.05, "remission": 0.05}
_VERIFIED = {"confirmed": 0.9, "provisional": 0.05, "refuted": 0.05}
