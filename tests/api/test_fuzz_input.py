"""Property-based fuzzing of POST /evaluate (issue 15): patient JSON and FHIR R4 Bundles from Hypothesis.

Properties, for every generated document:
* never a 5xx: an answer is 200 or a 4xx naming what is wrong;
* never a lost unrecognised code: a term the graph cannot know (from a pool of unknown CURIEs, codes
  and IRIs) comes back in `unrecognized`, at its place in the input;
* the answer does not depend on the order of the terms or Bundle entries, nor on a term or resource
  given twice (apart from where each is reported, which names its place).

The known terms come from the graph itself (`/conditions`, `/interventions`) and from the
vignettes' findings; the runs are derandomised so CI sees the same examples every time, and no
example is stored (`database=None`: the documents are patient-shaped).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.settings import Settings
from api.state import AppState
from kg.service import TherapyKG

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SNOMED, ICD10CM = "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
LIST_FIELDS = ("conditions", "therapies_tried", "current_therapies", "findings")
#: where a term or a resource was found ("entry[2].resource.code"): it moves when the input is reordered
_PLACE = re.compile(r"[A-Za-z_]+\[\d+\]")

#: Terms no graph of ours can know: each must come back in `unrecognized`.
UNKNOWN_TERMS: list[Any] = [
    "tkg:NoSuchTerm",
    "tkg:Spasticityy",
    "https://w3id.org/therapy-kg/NotATerm",
    "http://example.org/x",
    {"system": SNOMED, "code": "50582007"},  # hemiplegia: a valid SNOMED CT id the graph does not map
    {"system": SNOMED, "code": "12345"},  # fails the Verhoeff check
    {"system": ICD10CM, "code": "I63 - history, no stroke"},
    {"system": ICD10CM, "code": "G35\u0000"},
    {"system": ICD10CM, "code": "Z99.89"},
    {"system": RXNORM, "code": "57258"},
    {"system": RXNORM, "code": "12ab"},
    {"system": "http://example.org/codes", "code": "wrist-fracture"},
    {"system": "https://w3id.org/therapy-kg/", "code": "NoSuchTerm"},
]


@pytest.fixture(scope="module")
def fuzz_client(store) -> TestClient:
    state = AppState(Settings(public_url="http://testserver"), store, TherapyKG(store))
    with TestClient(create_app(state.settings, state=state)) as client:
        yield client


@pytest.fixture(scope="module")
def known_terms(fuzz_client) -> list[Any]:
    """Every condition and intervention of the graph as a CURIE and by each of its codes, and the findings."""
    terms: list[Any] = []
    for route in ("/conditions", "/interventions"):
        for entry in fuzz_client.get(route).json():
            terms.append(entry["curie"])
            terms.extend({"system": c["system"], "code": c["code"]} for c in entry["codes"])
    for vignette in sorted((ROOT / "tests" / "vignettes").glob("*.json")):
        terms.extend(json.loads(vignette.read_text())["patient"].get("findings", []))
    return terms


def _terms(known: list[Any]) -> st.SearchStrategy:
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(UNKNOWN_TERMS),
        st.builds(
            lambda s, c: {"system": s, "code": c},
            st.sampled_from([SNOMED, ICD10CM, RXNORM, "urn:oid:1.2.3"]),
            st.text(max_size=12),
        ),
        st.text(max_size=16),
    )


def patients(known: list[Any]) -> st.SearchStrategy[dict]:
    term_lists = st.lists(_terms(known), max_size=5)
    return st.fixed_dictionaries(
        {"conditions": st.lists(_terms(known), min_size=1, max_size=5)},
        optional={
            "id": st.text(max_size=20),
            "age": st.one_of(st.none(), st.integers(-3, 140)),
            "therapies_tried": term_lists,
            "current_therapies": term_lists,
            "findings": term_lists,
        },
    )


def comparable(document: dict) -> dict:
    """The answer without the places terms were found at: those follow the input's order by design."""

    def place(value: Any) -> bool:
        return isinstance(value, str) and _PLACE.match(value) is not None

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not place(v)}
        if isinstance(value, list):
            return [strip(v) for v in value if not place(v)]
        return value

    stripped = strip(document)
    for key in ("unrecognized", "conditions"):  # listed in input order, counted once per occurrence
        stripped[key] = sorted({json.dumps(e, sort_keys=True) for e in stripped[key]})
    return stripped


def _post(client: TestClient, document: dict) -> Any:
    response = client.post("/evaluate", json=document)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert response.status_code in (400, 413, 422) and response.json()["detail"], response.text
    return response


def test_patient_json_never_5xx_never_loses_a_term_and_ignores_order_and_duplicates(fuzz_client, known_terms) -> None:
    @FUZZ
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        patient = data.draw(patients(known_terms))
        response = _post(fuzz_client, patient)
        if response.status_code != 200:
            return
        answer = response.json()
        reported = {e["field"] for e in answer["unrecognized"]}
        for field in LIST_FIELDS:
            for i, term in enumerate(patient.get(field, [])):
                if term in UNKNOWN_TERMS:
                    assert f"{field}[{i}]" in reported, (field, i, term)

        reordered = {k: (data.draw(st.permutations(v)) if k in LIST_FIELDS else v) for k, v in patient.items()}
        assert comparable(_post(fuzz_client, reordered).json()) == comparable(answer)
        doubled = {k: (v + v if k in LIST_FIELDS and len(v) <= 25 else v) for k, v in patient.items()}
        assert comparable(_post(fuzz_client, doubled).json()) == comparable(answer)

    check()


# --- FHIR R4 Bundles ----------------------------------------------------------------------------

KNOWN_CONDITION_CODES = [
    (SNOMED, "221360009"),
    (SNOMED, "24700007"),
    (SNOMED, "230690007"),
    (SNOMED, "45352006"),
    (ICD10CM, "G35"),
    (ICD10CM, "I63.9"),
    (SNOMED, "78275009"),
]
UNKNOWN_CONDITION_CODES = [
    (SNOMED, "50582007"),
    (ICD10CM, "Z99.89"),
    ("http://example.org/codes", "x-1"),
    (SNOMED, "12345"),
    (ICD10CM, "not a code"),
]
MEDICATION_CODES = [(RXNORM, "1292"), (RXNORM, "3322"), (RXNORM, "3105"), (RXNORM, "57258"), (RXNORM, "999999999")]
STATUSES = [
    {"coding": [{"system": CLINICAL, "code": "active"}]},
    {"coding": [{"system": CLINICAL, "code": "resolved"}]},
    {"coding": [{"system": CLINICAL, "code": "remission"}]},
    {"text": "resolved"},
    {"coding": [{"system": SNOMED, "code": "413322009"}]},
    None,
]


def _condition(index: int, code: tuple[str, str], status: dict | None, abated: bool) -> dict:
    resource: dict = {
        "resourceType": "Condition",
        "id": f"c{index}",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
    }
    if status is not None:
        resource["clinicalStatus"] = status
    if abated:
        resource["abatementDateTime"] = "2020-01-01"
    return resource


def _medication(index: int, code: tuple[str, str], kind: str, status: str) -> dict:
    resource: dict = {
        "resourceType": kind,
        "id": f"m{index}",
        "status": status,
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": {"coding": [{"system": code[0], "code": code[1]}]},
    }
    if kind == "MedicationRequest":
        resource["intent"] = "order"
    return resource


@st.composite
def bundles(draw: st.DrawFn) -> dict:
    patient: dict = {"resourceType": "Patient", "id": "p"}
    birth = draw(st.sampled_from([None, "1950-05-01", "1990-12-31", "1960", "2030-01-01"]))
    if birth:
        patient["birthDate"] = birth
    resources = [patient]
    for i in range(draw(st.integers(1, 5))):
        code = draw(st.sampled_from(KNOWN_CONDITION_CODES + UNKNOWN_CONDITION_CODES))
        resources.append(_condition(i, code, draw(st.sampled_from(STATUSES)), draw(st.booleans())))
    for i in range(draw(st.integers(0, 3))):
        resources.append(
            _medication(
                i,
                draw(st.sampled_from(MEDICATION_CODES)),
                draw(st.sampled_from(["MedicationStatement", "MedicationRequest"])),
                draw(st.sampled_from(["active", "completed", "stopped", "unknown"])),
            )
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def test_fhir_bundles_never_5xx_never_lose_a_code_and_ignore_order_and_duplicates(fuzz_client) -> None:
    @FUZZ
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        bundle = data.draw(bundles())
        response = _post(fuzz_client, bundle)
        if response.status_code != 200:
            return
        answer = response.json()
        reported = json.dumps(answer["unrecognized"])
        for entry in bundle["entry"][1:]:
            resource = entry["resource"]
            if resource["resourceType"] == "Condition":
                coding = resource["code"]["coding"][0]
                if (coding["system"], coding["code"]) in UNKNOWN_CONDITION_CODES:
                    assert json.dumps(coding["code"]) in reported or f'"{resource["id"]}"' in reported, resource

        reordered = {**bundle, "entry": data.draw(st.permutations(bundle["entry"]))}
        assert comparable(_post(fuzz_client, reordered).json()) == comparable(answer)
        doubled = {**bundle, "entry": bundle["entry"][:1] + bundle["entry"][1:] * 2}
        assert comparable(_post(fuzz_client, doubled).json()) == comparable(answer)

    check()
