"""Bundle size (issue 13 item 2): FHIR records up to `max_bundle_bytes` (16 MiB), other bodies up to
`max_body_bytes` (1 MiB), on /evaluate and CDS Hooks; a real 3.9 MB Synthea bundle is answered."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson

SYNTHEA = Path(__file__).parent.parent / "data" / "synthea"
LARGEST = "synthea-deceased-largest.json.gz"  # 3.9 MB: over the plain-document limit, as real records are


def _largest() -> bytes:
    return gzip.decompress((SYNTHEA / LARGEST).read_bytes())


def test_a_synthea_bundle_over_one_mib_is_evaluated(client) -> None:
    body = _largest()
    assert len(body) > 3 * 1_048_576
    for media_type in ("application/fhir+json", "application/json"):  # a Bundle by its resourceType too
        response = client.post("/evaluate?as_of=2026-12-01", content=body, headers={"content-type": media_type})
        assert response.status_code == 200, response.text[:500]
        assert response.json()["deceased"] == {"date": "1996-01-21"}


def test_a_plain_document_over_one_mib_is_still_refused(client) -> None:
    padding = [{"system": "http://snomed.info/sct", "code": str(10_000_000 + i)} for i in range(40_000)]
    body = orjson.dumps({"conditions": ["tkg:Spasticity"], "padding": padding})
    assert 1_048_576 < len(body) < 16 * 1_048_576
    response = client.post("/evaluate", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["detail"]


def test_a_body_over_the_bundle_limit_is_refused_unread(client) -> None:
    body = b'{"resourceType": "Bundle", "entry": [' + b" " * (16 * 1_048_576) + b"]}"
    response = client.post("/evaluate", content=body, headers={"content-type": "application/fhir+json"})
    assert response.status_code == 413
    assert "max_bundle_bytes" in response.json()["detail"]


def test_other_routes_keep_the_plain_limit(client) -> None:
    body = b'{"feedback": [' + b" " * (2 * 1_048_576) + b"]}"
    response = client.post(
        "/cds-services/therapy-kg-patient-view/feedback", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_a_cds_call_with_a_large_prefetched_record_is_answered(client) -> None:
    from tests.api.test_cds_hooks import _post, _request

    body = _request("patient-view-stroke-on-baclofen")
    bundle = json.loads(_largest())
    procedures = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure"]
    patient_id = body["context"]["patientId"]
    for entry in procedures:
        entry["resource"]["subject"] = {"reference": f"Patient/{patient_id}"}
        entry["resource"]["note"] = [{"text": "x" * 20_000}]  # a long free-text note, as real records carry
    body["prefetch"]["procedures"] = {"resourceType": "Bundle", "type": "searchset", "entry": procedures}
    assert len(json.dumps(body)) > 1_048_576
    response = _post(client, body)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["cards"]
