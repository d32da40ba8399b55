"""The knowledge's indexes (issue 23 item 4): what one term or one patient costs is what its statements cost.

Each index is compared with the scan it replaces, over the shipped knowledge and over three copies of the
answer; a patient of the original answer gets the same answer when two more answers, with their own
vocabulary, are in the graph, and the owl engine classifies them with the same module; and with ten copies
sharing the vocabulary, the two engines still agree on generated patients.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.knowledge_copies import copied_ontology
from kg.generate import random_patients
from kg.knowledge import STATUS_KINDS, Knowledge, Statement
from kg.ontology.build import build
from kg.patient.document import parse_patient
from kg.service import TherapyKG
from kg.store.release import embedded_store

VIGNETTES = sorted((Path(__file__).parent / "vignettes").glob("*.json"))
UNKNOWN = "https://w3id.org/therapy-kg/NotInTheGraph"


@pytest.fixture(scope="module")
def tripled(tmp_path_factory) -> TherapyKG:
    folder = copied_ontology(tmp_path_factory.mktemp("tripled"), 3, own_vocabulary=True)
    return TherapyKG(embedded_store(build(folder, reason=False)), source_dir=folder)


def _about(k: Knowledge, cls: str) -> tuple[Statement, ...]:
    """The scan the index replaces: every statement naming `cls` or a class it falls under."""
    return tuple(s for s in k.statements if any(k.is_a(cls, x) for x in s.interventions))


def _shown(k: Knowledge, cls: str) -> tuple[Statement, ...]:
    return tuple(s for s in k.statements if any(k.is_a(cls, x) for x in s.shown_to_current_users_of))


@pytest.mark.parametrize("which", ["shipped", "tripled"])
def test_each_index_gives_what_the_scan_gives(store, tripled, which) -> None:
    k = TherapyKG(store).knowledge if which == "shipped" else tripled.knowledge
    classes = [*k.ancestors, UNKNOWN]
    assert sum(bool(k.statements_about(c)) for c in classes) > 10
    assert any(k.shown_to_current_users_of(c) for c in classes)
    assert any(k.whole_patient_status(k.ancestors[c]) for c in k.ancestors)
    for cls in classes:
        assert k.statements_about(cls) == _about(k, cls), cls
        assert k.shown_to_current_users_of(cls) == _shown(k, cls), cls
        assert k.descendants(cls) == frozenset(c for c, up in k.ancestors.items() if cls in up), cls
        assert k.classes_under(cls) == sorted(c for c, up in k.ancestors.items() if cls in up and c != cls), cls
        closure = k.ancestors.get(cls, {cls})
        assert k.whole_patient_status(closure) == [
            s
            for s in k.statements
            if s.kind in STATUS_KINDS
            and not s.by_indication
            and (not s.conditions or not (s.conditions | s.condition_parents).isdisjoint(closure))
        ], cls


def test_a_patient_of_one_answer_gets_the_same_answer_beside_two_more(store, tripled) -> None:
    """The copies have their own conditions, interventions and vocabulary subclasses, so nothing of theirs
    applies to a patient of the original: the answer is the original's, byte for byte but for the release's
    name. (With the vocabulary shared, a copy's claim about a shared class does reach them: test_second_answer.)"""
    single = TherapyKG(store)
    assert len(tripled.knowledge.statements) == 3 * len(single.knowledge.statements)
    for path in VIGNETTES:
        patient = json.loads(path.read_text(encoding="utf-8"))["patient"]
        alone, beside = (s.evaluate_document(patient) for s in (single, tripled))
        assert alone.pop("knowledge_version") != beside.pop("knowledge_version")
        assert alone == beside, path.name


@pytest.mark.owl
def test_the_owl_engine_classifies_a_patient_of_one_answer_with_that_answers_part(store, tripled) -> None:
    """The module a patient is classified with is the same size beside two more answers as alone, and names
    none of their terms: HermiT's work does not grow with the knowledge."""
    single = TherapyKG(store)
    for path in VIGNETTES:
        patient = parse_patient(json.loads(path.read_text(encoding="utf-8"))["patient"])
        facts = [single.resolver.resolve(patient).facts]
        alone, _ = single.owl.module(["urn:x-test:patient"], facts)
        beside, _ = tripled.owl.module(["urn:x-test:patient"], facts)
        assert len(beside) == len(alone), path.name
        assert not [t for t in beside if "Copy" in str(t.subject) or "Copy" in str(t.object)], path.name


@pytest.mark.owl
def test_both_engines_agree_beside_ten_answers_sharing_the_vocabulary(tmp_path) -> None:
    """Ten answers whose claims about a shared vocabulary class reach each other's patients: the owl engine's
    modules, and its one-statement-per-population shortcut, give the fast engine's memberships."""
    folder = copied_ontology(tmp_path, 10)
    service = TherapyKG(embedded_store(build(folder, reason=False)), source_dir=folder)
    patients = list(random_patients(service.knowledge, 150, seed=20261207))
    facts = [service.resolver.resolve(parse_patient(p)).facts for p in patients]
    fast, owl = service.fast.memberships(facts), service.owl.memberships(facts)
    assert sum(bool(m.applies_for) for m in fast) > 50
    assert [i for i, (f, o) in enumerate(zip(fast, owl, strict=True)) if f != o] == []


def test_compiling_pauses_the_garbage_collector_and_restores_it(store) -> None:
    import gc

    from kg.errors import TherapyKGError
    from kg.knowledge import compile_knowledge

    class Failing:
        def query(self, *args: object, **kwargs: object) -> object:
            assert not gc.isenabled(), "paused while compiling"
            raise TherapyKGError("the store is gone")

    assert gc.isenabled()
    compile_knowledge(store)
    assert gc.isenabled()
    with pytest.raises(TherapyKGError):
        compile_knowledge(Failing())  # type: ignore[arg-type]
    assert gc.isenabled(), "resumed however the compile ends"
    gc.disable()
    try:
        compile_knowledge(store)
        assert not gc.isenabled(), "left as it was"
    finally:
        gc.enable()
