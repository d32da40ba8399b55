"""Clinical vignettes as data (tests/vignettes/*.json): a patient and the answers the seed implies.

Each vignette runs through both engines (the owl engine classifies all vignettes in one HermiT
run). Together the vignettes must touch every statement of the graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.json_types import deciding_reasons
from kg.patient.document import parse_patient
from kg.service import TherapyKG

VIGNETTES = {p.stem: json.loads(p.read_text()) for p in sorted((Path(__file__).parent / "vignettes").glob("*.json"))}
ENGINES = ["fast", "owl"]


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


@pytest.fixture(scope="module")
def evaluations(service) -> dict[str, dict[str, dict]]:
    patients = [parse_patient(v["patient"]) for v in VIGNETTES.values()]
    return {engine: dict(zip(VIGNETTES, service.evaluate_many(patients, engine), strict=False)) for engine in ENGINES}


def _options(evaluation: dict, indication: str | None = None) -> dict[str, dict]:
    """The options by intervention, for one indication (its CURIE) or, without one, the only indication that
    names the intervention: a vignette whose patient has several must say which (`statuses_by_indication`)."""
    rows: dict[str, list[dict]] = {}
    for o in evaluation["options"]:
        if indication is None or (o["indication"] or {}).get("term") == indication:
            rows.setdefault(o["intervention"], []).append(o)
    if indication is None:
        several = {i: [(r["indication"] or {}).get("term") for r in rs] for i, rs in rows.items() if len(rs) > 1}
        single = {i: rs[0] for i, rs in rows.items() if i not in several}
        return single | {i: {"several": v, "rows": rows[i]} for i, v in several.items()}
    return {i: rs[0] for i, rs in rows.items()}


def _each(option: dict) -> list[dict]:
    """The option, or each of an intervention's options for several indications."""
    return option["rows"] if "several" in option else [option]


def _ids(items: list[dict]) -> list[str]:
    return sorted(i["statement"] for i in items)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(VIGNETTES))
def test_vignette(name: str, engine: str, evaluations) -> None:
    expect = VIGNETTES[name]["expect"]
    evaluation = evaluations[engine][name]
    options = _options(evaluation)
    assert evaluation["engine"] == engine
    assert evaluation["patient"] == VIGNETTES[name]["patient"].get("id")
    for curie, status in expect.get("statuses", {}).items():
        assert curie in options, f"{curie} missing from the options"
        assert "several" not in options[curie], f"{curie} has options for {options[curie]}: say which indication"
        assert options[curie]["status"] == status, (curie, options[curie]["reasons"])
    for indication, statuses in expect.get("statuses_by_indication", {}).items():
        rows = _options(evaluation, indication)
        for curie, status in statuses.items():
            assert curie in rows and rows[curie]["status"] == status, (indication, curie, rows.get(curie))
    for curie in expect.get("absent", []):
        assert curie not in options
    for curie, line in expect.get("lines", {}).items():
        assert options[curie]["line"] == line
    if expect.get("no_line"):
        assert all(o["line"] is None for o in evaluation["options"])
    for curie in expect.get("preferred", []):
        assert options[curie]["preferred"] is True
    for curie in expect.get("not_preferred", []):
        assert options[curie]["preferred"] is False
    for field in ("reasons", "cautions", "dosing", "monitoring", "evidence"):
        for curie, statements in expect.get(field, {}).items():
            for row in _each(options[curie]):  # an intervention with options for several indications: each
                got = deciding_reasons(row) if field == "reasons" else row[field]  # reasons: those that decided
                assert _ids(got) == sorted(statements), (field, curie)
    for curie, numbers in expect.get("reason_sources", {}).items():
        for row in _each(options[curie]):
            cited = {s["reference"] for r in deciding_reasons(row) for s in r["sources"]}
            assert cited == set(numbers)
    for curie, quotes in expect.get("quotes", {}).items():
        assert [q["text"] for r in deciding_reasons(options[curie]) for q in r.get("quotes", [])] == quotes
    for curie, kinds in expect.get("unmet", {}).items():
        got = {u["requirement"] for r in deciding_reasons(options[curie]) for u in r["unmet"]}
        assert sorted(got) == sorted(kinds)
    for curie, pairs in expect.get("matched", {}).items():
        matched = {(m["field"], m["term"]) for r in deciding_reasons(options[curie]) for m in r["matched"]}
        assert {tuple(p) for p in pairs} <= matched
    for statement, roles in expect.get("dose_figures", {}).items():
        regimen = next(d for o in options.values() for d in o["dosing"] if d["statement"] == statement)
        figures = {
            d["role"]: [d["lower"] if d["lower"] is not None else d["upper"], d["upper"], d["unit"]]
            for d in regimen["doses"]
        }
        for role, figure in roles.items():
            assert figures[role] == figure
    if "warnings" in expect:
        got = [(w["kind"], w["intervention"]) for w in evaluation["warnings"]]
        assert got == [(w["kind"], w["intervention"]) for w in expect["warnings"]]
        for want, warning in zip(expect["warnings"], evaluation["warnings"], strict=False):
            if "statements" in want:
                assert _ids(warning["statements"]) == sorted(want["statements"])
    if "current_therapies" in expect:
        current = {c["intervention"]: c for c in evaluation["current_therapies"]}
        assert sorted(current) == sorted(expect["current_therapies"])
        for curie, want in expect["current_therapies"].items():
            got = current[curie]
            statuses = {(i["indication"] or {}).get("term"): i["status"] for i in got["indications"]}
            assert statuses == want.get("indications", {}), (curie, got["indications"])
            for field in ("discontinuation", "monitoring", "cautions"):
                if field in want:
                    assert _ids(got[field]) == sorted(want[field]), (curie, field)
            unmet = sorted({u["requirement"] for u in got["prerequisite_not_recorded"]})
            assert unmet == sorted(want.get("prerequisite_not_recorded", [])), (curie, got["prerequisite_not_recorded"])
            if "form" in want:
                assert (got["form"] or {}).get("term") == want["form"]
    if "questions" in expect:  # each question by its field, with the candidates and the options it affects
        asked = [
            {"field": q["field"], "candidates": q.get("candidates", []), "affects": q["affects"]}
            for q in evaluation["missing_information"]
        ]
        for want in expect["questions"]:
            assert want in asked, (want, asked)
    if "missing_information_fields" in expect:
        assert sorted(q["field"] for q in evaluation["missing_information"]) == sorted(
            expect["missing_information_fields"]
        )
    if "candidates" in expect:
        asked = {c for q in evaluation["missing_information"] if q["field"] == "conditions" for c in q["candidates"]}
        assert asked == set(expect["candidates"])
    if "unrecognized_fields" in expect:
        assert sorted(u["field"] for u in evaluation["unrecognized"]) == sorted(expect["unrecognized_fields"])


def test_vignettes_cover_every_statement(service, evaluations) -> None:
    """Every statement of the graph is exercised by at least one vignette."""
    seen: set[str] = set()
    for evaluation in evaluations["fast"].values():
        for option in evaluation["options"]:
            for field in ("reasons", "cautions", "dosing", "monitoring", "evidence"):
                seen |= {r["statement"] for r in option[field]}
        for warning in evaluation["warnings"]:
            seen |= {s["statement"] for s in warning["statements"]}
    every = {service.terms.compress(s.iri) for s in service.knowledge.statements}
    assert every - seen == set()


def test_the_vignette_table_holds_at_least_thirty_cases() -> None:
    assert len(VIGNETTES) >= 30


def test_every_reason_says_its_effect(evaluations) -> None:
    """SPEC §5: `reasons` lists every applicable status statement with its effect, the deciding ones first."""
    effects = set()
    for evaluation in evaluations["fast"].values():
        for option in evaluation["options"]:
            assert all(r["effect"] for r in option["reasons"])
            deciding = deciding_reasons(option)
            assert option["reasons"][: len(deciding)] == deciding
            effects |= {r["effect"] for r in option["reasons"]}
    assert effects == {"recommends", "prerequisite-unmet", "excludes", "not-indicated", "depends-on"}


@pytest.mark.parametrize("name", list(VIGNETTES))
def test_every_vignette_names_the_seed_sentence_it_rests_on(name: str) -> None:
    """The seed's own words (its citation digits left out), as the statements quote them."""
    from tests.test_seed_claims import SEED_UNCITED

    seed = VIGNETTES[name].get("seed", "")
    assert seed and seed in SEED_UNCITED, f"{name}: 'seed' is not a span of the seed: {seed!r}"
