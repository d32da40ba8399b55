"""The owl engine's bounds: Java missing or failing is a clear error; time and memory are bounded; no
temporary file or process with patient data outlives a call."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import owlready2
import pytest

from kg.errors import ReasonerUnavailableError
from kg.ontology.hermit import HermitBounds
from kg.patient.document import parse_patient
from kg.reasoning.owl import OwlEngine
from kg.service import TherapyKG

pytestmark = pytest.mark.owl
PATIENT = {"id": "secret-patient-id", "age": 70, "conditions": ["tkg:Stroke", "tkg:GeneralizedSpasticity"]}


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


@pytest.fixture(autouse=True)
def private_temp_dir(monkeypatch, tmp_path) -> None:
    """The reasoner's temporary files go to this test's own folder, so another process running HermiT at the
    same time (a second test run, a server) cannot make a leftover appear or disappear."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def _leftovers() -> list[str]:
    return sorted(p.name for p in Path(tempfile.gettempdir()).glob("tkg-hermit-*"))


def _hermit_processes() -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"tkg-hermit-" in cmdline:
            found.append(pid)
    return found


def _facts(service):
    return [service.resolver.resolve(parse_patient(PATIENT)).facts]


def test_success_leaves_no_temporary_file(service) -> None:
    before = _leftovers()
    result = service.evaluate(parse_patient(PATIENT), "owl")
    assert {o["intervention"]: o["status"] for o in result["options"]}["tkg:OralBaclofen"] == "excluded"
    assert _leftovers() == before


def test_missing_java_is_a_clear_error(service, monkeypatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", "/nonexistent/bin/java")
    before = _leftovers()
    with pytest.raises(ReasonerUnavailableError, match="Java was not found"):
        OwlEngine(service.knowledge, service.store).memberships(_facts(service))
    assert _leftovers() == before


def test_failing_java_is_a_clear_error(service, monkeypatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", "/bin/false")
    before = _leftovers()
    with pytest.raises(ReasonerUnavailableError, match="failed"):
        OwlEngine(service.knowledge, service.store).memberships(_facts(service))
    assert _leftovers() == before


def test_time_bound_stops_the_reasoner_and_cleans_up(service) -> None:
    before = _leftovers()
    engine = OwlEngine(service.knowledge, service.store, HermitBounds(timeout_s=0.05, memory_mb=512))
    with pytest.raises(ReasonerUnavailableError, match="did not finish within"):
        engine.memberships(_facts(service))
    assert _leftovers() == before
    assert _hermit_processes() == []


def test_memory_bound_is_reported(service) -> None:
    engine = OwlEngine(service.knowledge, service.store, HermitBounds(timeout_s=60, memory_mb=2))
    with pytest.raises(ReasonerUnavailableError):
        engine.memberships(_facts(service))
    assert _hermit_processes() == []


#: Fake `java` executables: each must make the owl engine refuse to answer, never answer "nothing applies".
FAKE_JAVAS = {
    "exits 0, prints nothing": ("exit 0", r"incomplete: (\d+) of \1 eligibility classes and 1 of 1 patients"),
    "exits 0, prints garbage": ("echo 'Exception in thread main'; exit 0", "not a result \\(line 1\\)"),
    "exits 0, prints a partial answer": (
        "echo 'SubClassOf( <http://example.org/A> <http://example.org/B> )'; exit 0",
        r"incomplete: (\d+) of \1 eligibility classes and 1 of 1 patients",
    ),
    "dies by a signal": ("kill -KILL $$", "killed by signal SIGKILL"),
    "hangs": ("exec sleep 30", "did not finish within 1 s"),
}


@pytest.mark.parametrize("case", FAKE_JAVAS)
def test_a_reasoner_answer_that_is_not_whole_is_refused(service, monkeypatch, tmp_path: Path, case: str) -> None:
    """Issue 15 item 7: the engine checks the answer is complete (every patient typed, the hierarchy's
    classes named), so a broken `java` is a ReasonerUnavailableError (503 over HTTP), not an empty answer."""
    script, message = FAKE_JAVAS[case]
    java = tmp_path / "java"
    java.write_text(f"#!/bin/sh\n{script}\n")
    java.chmod(0o755)
    monkeypatch.setattr(owlready2, "JAVA_EXE", str(java))
    before = _leftovers()
    engine = OwlEngine(service.knowledge, service.store, HermitBounds(timeout_s=1, memory_mb=256))
    with pytest.raises(ReasonerUnavailableError, match=message):
        engine.memberships(_facts(service))
    assert _leftovers() == before


def test_the_real_reasoner_passes_the_completeness_check(service) -> None:
    """The control for the fake javas: HermiT's own answer is whole, for a batch of two patients."""
    facts = [
        service.resolver.resolve(parse_patient(p)).facts
        for p in (PATIENT, {"id": "other", "conditions": ["tkg:Stroke"]})
    ]
    memberships = OwlEngine(service.knowledge, service.store).memberships(facts)
    assert memberships[0].applies and len(memberships) == 2
