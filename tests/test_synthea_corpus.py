"""Real records: published Synthea bundles (SMART on FHIR's generated sample data, Apache-2.0; see
tests/data/synthea/README.md) and copies edited to add what Synthea lacks, each with its expected answer
(tests/data/synthea/expected.json), read at a fixed evaluation date so the answers never drift.
"""

from __future__ import annotations

import copy
import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from kg.service import TherapyKG

CORPUS = Path(__file__).parent / "data" / "synthea"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
EDITS = json.loads((CORPUS / "edits.json").read_text(encoding="utf-8"))["edits"]
AS_OF = date.fromisoformat(EXPECTED["as_of"])


def _bundle(name: str) -> dict:
    if name in EDITS:
        return _edited(EDITS[name])
    return json.loads(gzip.decompress((CORPUS / f"{name}.json.gz").read_bytes()))


def _edited(edit: dict) -> dict:
    bundle = copy.deepcopy(_bundle(edit["base"]))
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient.update(edit.get("patient", {}))
    for resource in edit.get("add", []):
        added = {**resource, "subject": {"reference": f"Patient/{patient['id']}"}}
        bundle["entry"].append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": added})
    return bundle


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def test_the_corpus_holds_ten_published_bundles_of_different_sizes_and_their_edited_copies() -> None:
    published = sorted(CORPUS.glob("synthea-*.json.gz"))
    sizes = [len(gzip.decompress(p.read_bytes())) for p in published]
    assert len(published) >= 10 and min(sizes) < 500_000 and max(sizes) > 3_000_000
    assert (CORPUS / "LICENSE").exists()
    assert len(EDITS) >= 4 and set(EXPECTED["records"]) == {p.name.removesuffix(".json.gz") for p in published} | set(
        EDITS
    )


@pytest.mark.parametrize("name", sorted(EXPECTED["records"]))
def test_each_record_gives_its_expected_answer(service, name: str) -> None:
    want = EXPECTED["records"][name]
    answer = service.evaluate_document(_bundle(name), as_of=AS_OF)
    assert answer["as_of"] == EXPECTED["as_of"]
    assert answer.get("deceased") == want.get("deceased")
    assert sorted(c["term"] for c in answer["conditions"]) == sorted(want["conditions"])
    statuses = {f"{(o['indication'] or {}).get('term')} {o['intervention']}": o["status"] for o in answer["options"]}
    assert statuses == want.get("options", {})
    current = {
        c["intervention"]: sorted(str((i["indication"] or {}).get("term")) for i in c["indications"])
        for c in answer["current_therapies"]
    }
    assert current == want.get("current_therapies", {})
    assert [[w["kind"], w["intervention"]] for w in answer["warnings"]] == want.get("warnings", [])
    assert answer["unrecognized"], "a real record always holds codes the graph does not use: they are reported"
