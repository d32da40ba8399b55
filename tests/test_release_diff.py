"""`therapy-kg diff OLD NEW` (issue 12 item 6): a release note a clinician can sign off.

Each test edits a copy of the ontology sources, as an ontology editor would, and compares it with the
committed release. The oracle for "which answers change" is independent of the diff's own flattening: a
patient changes exactly when the two releases' answer documents differ (the knowledge version aside).
"""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kg import cli
from kg.release_diff.compare import compare, example_patients
from kg.release_diff.panel import generated_panel
from kg.release_diff.releases import open_release
from kg.release_diff.report import render
from kg.release_diff.statements import Change
from kg.resources import release_file
from tests.ontology_edits import edited_ontology, table_cell

pytestmark = pytest.mark.owl  # a source folder is built (HermiT) before it is compared

ROOT = Path(__file__).resolve().parents[1]
VIGNETTES = ROOT / "tests" / "vignettes"
AS_OF = date(2026, 12, 7)
STATEMENTS = "templates/statements/statements.tsv"
#: stroke no longer read as a cause for which oral baclofen is not recommended
STROKE_NOT_A_CAUSE = table_cell(
    STATEMENTS,
    "tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson",
    "cause",
    lambda causes: "|".join(c for c in causes.split("|") if c != "tkg:Stroke"),
)
#: the target daily dose of oral baclofen raised from 30-80 to 30-90 mg/day
TARGET_DOSE = table_cell(
    "templates/statements/dose-specifications.tsv", "tkg:OralBaclofenDosingTargetDailyDose", "upper bound", "90.0"
)


def _changed_documents(old: Path, new: Path, folder: Path) -> set[str]:
    """The oracle: patients whose whole answer documents differ between the releases."""
    before, after = open_release(old).service, open_release(new).service
    changed = set()
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        patient = data["patient"] if "patient" in data else data
        a, b = (s.evaluate_document(patient, "fast", AS_OF) for s in (before, after))
        a.pop("knowledge_version"), b.pop("knowledge_version")
        if a != b:
            changed.add(path.stem)
    return changed


def test_a_release_compared_with_its_own_sources_changes_nothing() -> None:
    note = compare(release_file(), ROOT / "ontology", [VIGNETTES], AS_OF)
    assert note.axioms.removed == [] and note.axioms.added == []
    assert note.answers.changes == []
    assert len(note.answers.patients) == len(list(VIGNETTES.glob("*.json")))
    assert "No patient's answer changes." in render(note, "markdown")


def test_a_changed_cause_names_exactly_the_patients_it_changes(tmp_path) -> None:
    new = edited_ontology(tmp_path, STROKE_NOT_A_CAUSE)
    note = compare(release_file(), new, [VIGNETTES], AS_OF)
    expected = _changed_documents(release_file(), new, VIGNETTES)
    assert expected, "the edit must change some vignette's answer"
    assert note.answers.changed_patients == sorted(expected)

    status = [
        c
        for c in note.answers.changes
        if c.patient == "stroke-current-diazepam" and c.field == "status" and "tkg:OralBaclofen" in c.subject
    ]
    assert [(c.old, c.new) for c in status] == [("excluded", "eligible")]
    statement = "tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson"
    assert statement in status[0].statements
    assert note.changed_statements(status[0]) == [statement], "the statement whose axioms changed is marked"

    assert note.axioms.added == []
    [removed] = note.axioms.removed
    assert "tkg:forIndicationDueTo" in removed and "tkg:Stroke" in removed and statement in removed
    assert note.statements.changed == {
        statement: [
            Change(
                statement,
                "tkg:forIndicationDueTo",
                ("tkg:CerebralPalsy", "tkg:ParkinsonDisease", "tkg:Stroke"),
                ("tkg:CerebralPalsy", "tkg:ParkinsonDisease"),
            )
        ]
    }


def test_the_generated_panel_meets_the_patients_an_edit_changes(tmp_path) -> None:
    """A panel generated from both releases finds the patients an edit changes, none of whom the examples hold:
    the oracle again is the answer documents themselves."""
    new = edited_ontology(tmp_path, STROKE_NOT_A_CAUSE)
    note = compare(release_file(), new, [example_patients()], AS_OF, generated=True)
    panel = generated_panel(open_release(release_file()).graph, open_release(new).graph)
    assert len(panel) > 100 and len({p.name for p in panel}) == len(panel)
    before, after = open_release(release_file()).service, open_release(new).service
    expected = set()
    for patient in panel:
        a, b = (s.evaluate_document(patient.document, "fast", AS_OF) for s in (before, after))
        a.pop("knowledge_version"), b.pop("knowledge_version")
        if a != b:
            expected.add(patient.name)
    expected |= _changed_documents(release_file(), new, example_patients())
    assert "panel-GeneralizedSpasticity-due-to-Stroke" in expected
    assert note.answers.changed_patients == sorted(expected)


def test_a_changed_dose_shows_the_dose_that_differs(tmp_path) -> None:
    new = edited_ontology(tmp_path, TARGET_DOSE)
    note = compare(release_file(), new, [example_patients()], AS_OF)
    assert note.answers.changed_patients == sorted(_changed_documents(release_file(), new, example_patients()))
    dosing = [c for c in note.answers.changes if c.field == "dosing: tkg:OralBaclofenDosing"]
    assert dosing, note.answers.changes
    assert all(c.statements == ("tkg:OralBaclofenDosing",) for c in dosing)
    markdown = render(note, "markdown")
    assert '"role": "tkg:TargetDailyDose", "upper": 80' in markdown
    assert '"role": "tkg:TargetDailyDose", "upper": 90' in markdown
    assert "tkg:upperBound" in "".join(note.axioms.added) and "90" in "".join(note.axioms.added)
    assert note.statements.added == note.statements.removed == []
    assert note.statements.changed == {
        "tkg:OralBaclofenDosing": [
            Change("tkg:OralBaclofenDosingTargetDailyDose", "tkg:upperBound", ("80.0",), ("90.0",))
        ]
    }
    assert all(note.changed_statements(c) == ["tkg:OralBaclofenDosing"] for c in dosing), "the regimen is marked"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_a_removed_statement_is_listed_and_its_answers_change(tmp_path) -> None:
    table, row, _ = table_cell(STATEMENTS, "tkg:BaclofenMonitoring", "label", "")
    new = edited_ontology(tmp_path, (table, row, ""))
    note = compare(release_file(), new, [VIGNETTES], AS_OF)
    assert note.statements.removed == ["tkg:BaclofenMonitoring"] and not note.statements.changed
    assert note.answers.changed_patients == sorted(_changed_documents(release_file(), new, VIGNETTES))
    monitoring = [c for c in note.answers.changes if c.field == "monitoring: tkg:BaclofenMonitoring"]
    assert monitoring and all(c.old is not None and c.new is None for c in monitoring)
    assert "- **removed** monitor for weakness" in render(note, "markdown")


def test_html_and_json_carry_the_same_note_and_escape_the_sources(tmp_path) -> None:
    """A label holding markup is shown as text, never as markup (a claim text could not: it must be the seed's)."""
    hostile = table_cell(
        STATEMENTS,
        "tkg:TizanidineOrDantroleneAlternatives",
        "label",
        lambda label: label + " <script>alert(1)</script>",
    )
    new = edited_ontology(tmp_path, STROKE_NOT_A_CAUSE, hostile)
    note = compare(release_file(), new, [VIGNETTES], AS_OF)

    page = render(note, "html")
    parsed = _Text()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert "&lt;script&gt;" in page
    assert "Reviewed and signed off by" in "".join(parsed.text)

    data = json.loads(render(note, "json"))
    assert data["changed_patients"] == note.answers.changed_patients
    assert len(data["answer_changes"]) == len(note.answers.changes)
    # the edited tables build a release of their own name: the authored version and their content's digest
    assert re.fullmatch(r"https://w3id\.org/therapy-kg/ontology/0\.1\.0\+[0-9a-f]{12}", data["new"]["version_iri"])
    assert data["new"]["version_iri"] != data["old"]["version_iri"]
    assert any("<script>" in axiom for axiom in data["axioms"]["added"])


def test_the_cli_writes_each_format(tmp_path, capsys) -> None:
    new = edited_ontology(tmp_path, STROKE_NOT_A_CAUSE)
    out = tmp_path / "note.html"
    args = ["diff", str(release_file()), str(new), "--patients", str(VIGNETTES), "--as-of", "2026-12-07"]
    assert cli.main([*args, "--format", "html", "--out", str(out)]) == 0
    assert out.read_text().startswith("<!doctype html>")
    assert cli.main(args) == 0
    markdown = capsys.readouterr().out
    title = re.match(r"# Release diff: (0\.1\.0\+[0-9a-f]{12}) → (0\.1\.0\+[0-9a-f]{12})\n", markdown)
    assert title and title[1] != title[2], markdown[:80]
    assert "| option: status | generalized spasticity (tkg:GeneralizedSpasticity), oral baclofen" in markdown


def test_bad_input_is_named_with_exit_code_2(tmp_path, capsys) -> None:
    assert cli.main(["diff", str(tmp_path / "missing.ttl"), str(release_file())]) == 2
    assert "missing.ttl: is neither a release file" in capsys.readouterr().err

    broken = tmp_path / "patients"
    broken.mkdir()
    (broken / "half.json").write_text('{"age": 40, ')
    assert cli.main(["diff", str(release_file()), str(release_file()), "--patients", str(broken)]) == 2
    assert "half.json: cannot be read as JSON" in capsys.readouterr().err

    not_turtle = tmp_path / "release.ttl"
    not_turtle.write_text("this is not turtle")
    assert cli.main(["diff", str(not_turtle), str(release_file())]) == 2
    assert "release.ttl: cannot be read as a Turtle release" in capsys.readouterr().err


def test_a_real_fhir_record_is_compared_like_any_patient(tmp_path) -> None:
    """A published Synthea Bundle (a stroke, no spasticity recorded) is read by both releases; an edit about
    stroke as a cause of spasticity changes nothing for it, as its own answer documents say."""
    import gzip

    record = tmp_path / "records" / "synthea-stroke.json"
    record.parent.mkdir()
    record.write_bytes(gzip.decompress((ROOT / "tests" / "data" / "synthea" / "synthea-stroke.json.gz").read_bytes()))
    new = edited_ontology(tmp_path, STROKE_NOT_A_CAUSE)
    note = compare(release_file(), new, [record.parent], AS_OF)
    assert note.answers.patients == ["synthea-stroke"]
    assert _changed_documents(release_file(), new, record.parent) == set()
    assert note.answers.changed_patients == [] and note.answers.changes == []
