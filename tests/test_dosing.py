"""Dose figures in the evaluation (SPEC §3, issue 10 item 6): numbers with UCUM units, each also a FHIR
`Range` of UCUM quantities, the shape a `Dosage.doseAndRate.doseRange` carries."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.range import Range

from kg.service import TherapyKG


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


@pytest.mark.parametrize("age", [45, 70])
def test_every_dose_figure_is_a_fhir_range_of_ucum_quantities(service, age) -> None:
    patient = {"age": age, "conditions": ["tkg:GeneralizedSpasticity"], "therapies_tried": ["tkg:Stretching"]}
    evaluation = service.evaluate_document(patient)
    doses = [d for o in evaluation["options"] for regimen in o["dosing"] for d in regimen["doses"]]
    assert doses
    for dose in doses:
        fhir_range = Range.model_validate(dose["range"])
        assert fhir_range.high is not None and float(fhir_range.high.value) == dose["upper"]
        assert fhir_range.high.system == "http://unitsofmeasure.org" and fhir_range.high.code == dose["ucum"]
        assert (fhir_range.low is None) == (dose["lower"] is None)
        if fhir_range.low is not None:
            assert float(fhir_range.low.value) == dose["lower"] and fhir_range.low.code == dose["ucum"]
