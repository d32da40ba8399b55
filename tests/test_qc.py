"""`therapy-kg check`: the ROBOT-style report passes on the shipped ontology, and each
`queries/qc/*-violation.rq` catches the fault it is written for, naming the IRI (and file:line).

Every violation query has a fault below: a copy of ontology/ in tmp_path with one small edit.
A new query without a fault case fails `test_every_violation_query_has_a_fault_case`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kg import cli
from kg.qc import check_graph, run_checks, violation_queries
from tests.ontology_edits import edited_ontology

CONDITIONS = "components/conditions.ttl"
STATEMENTS = "components/statements.ttl"
STROKE_DEFINITION = '    obo:IAO_0000115 "A cerebrovascular accident, including the recovery period after it."@en ;'
BENZODIAZEPINE_CLAIM = (
    '    tkg:claimText "Benzodiazepines (like diazepam) should be avoided during stroke recovery due to '
    'deleterious effects on recovery" ;\n'
)


@dataclass(frozen=True)
class Fault:
    query: str  # the violation query that must catch it
    edits: tuple[tuple[str, str, str], ...]  # (file under ontology/, old text, new text)
    names: tuple[str, ...]  # what the problem line must name
    located_in: str | None = None  # file whose path:line the problem line must carry


FAULTS = {
    "missing-label": Fault(
        "qc/missing-label-violation", ((CONDITIONS, '    rdfs:label "stroke"@en ;\n', ""),), ("tkg:Stroke",), CONDITIONS
    ),
    "multiple-labels": Fault(
        "qc/multiple-labels-violation",
        ((CONDITIONS, '    rdfs:label "stroke"@en ;', '    rdfs:label "stroke"@en , "cerebrovascular accident"@en ;'),),
        ("tkg:Stroke",),
        CONDITIONS,
    ),
    "duplicate-label": Fault(
        "qc/duplicate-label-violation",
        ((CONDITIONS, '    rdfs:label "stroke"@en ;', '    rdfs:label "cerebral palsy"@en ;'),),
        ("tkg:CerebralPalsy", "tkg:Stroke", '"cerebral palsy"'),
        CONDITIONS,
    ),
    "missing-definition": Fault(
        "qc/missing-definition-violation",
        ((CONDITIONS, '    rdfs:label "stroke"@en ;\n' + STROKE_DEFINITION, '    rdfs:label "stroke"@en ;'),),
        ("tkg:Stroke",),
        CONDITIONS,
    ),
    "missing-header-field": Fault(
        "qc/missing-header-field-violation",
        (("therapy-kg-edit.ttl", "    dcterms:license <https://creativecommons.org/licenses/by/4.0/> ;\n", ""),),
        ("tkg:ontology", "http://purl.org/dc/terms/license"),
        "therapy-kg-edit.ttl",
    ),
    "statement-without-source": Fault(
        "qc/statement-without-source-violation",
        (
            (
                STATEMENTS,
                "    tkg:withCoexistingCondition tkg:Stroke ;\n    tkg:hasSource tkg:Source1 ;\n",
                "    tkg:withCoexistingCondition tkg:Stroke ;\n",
            ),
        ),
        ("tkg:BenzodiazepinesAvoidedInStrokeRecovery",),
        STATEMENTS,
    ),
    "statement-without-claim-text": Fault(
        "qc/statement-without-claim-text-violation",
        ((STATEMENTS, BENZODIAZEPINE_CLAIM, ""),),
        ("tkg:BenzodiazepinesAvoidedInStrokeRecovery",),
        STATEMENTS,
    ),
    "source-2-statement-about-intrathecal-baclofen": Fault(
        "qc/statement-source-scope-violation",
        (
            (
                STATEMENTS,
                "    tkg:aboutIntervention tkg:OralBaclofen ;\n    tkg:aboutCondition tkg:RheumaticMuscleSpasm ;",
                "    tkg:aboutIntervention tkg:IntrathecalBaclofen ;\n"
                "    tkg:aboutCondition tkg:RheumaticMuscleSpasm ;",
            ),
        ),
        ("tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm", "tkg:Source2", "tkg:IntrathecalBaclofen"),
        STATEMENTS,
    ),
    "statement-about-wrong-kind": Fault(
        "qc/statement-about-wrong-kind-violation",
        (
            (
                STATEMENTS,
                "    tkg:aboutIntervention tkg:Benzodiazepine ;\n    tkg:aboutCondition tkg:Stroke ;",
                "    tkg:aboutIntervention tkg:Benzodiazepine ;\n    tkg:aboutCondition tkg:Diazepam ;",
            ),
        ),
        ("tkg:BenzodiazepinesAvoidedInStrokeRecovery", "tkg:Diazepam", "tkg:Condition"),
        STATEMENTS,
    ),
    "preferred-not-among-options": Fault(
        "qc/preferred-not-among-options-violation",
        (
            (
                STATEMENTS,
                "    tkg:preferredIntervention tkg:BotulinumToxin ;",
                "    tkg:preferredIntervention tkg:Tizanidine ;",
            ),
        ),
        ("tkg:BotulinumToxinPreferredForFocalSpasticity", "tkg:Tizanidine"),
        STATEMENTS,
    ),
    "second-line-without-prior-line": Fault(
        "qc/second-line-without-prior-line-violation",
        (
            (
                STATEMENTS,
                "    tkg:requiresPriorLine tkg:FirstLine ;\n"
                "    tkg:hasSource tkg:Source1 .\n\ntkg:OralBaclofenOlderAdultDosing",
                "    tkg:hasSource tkg:Source1 .\n\ntkg:OralBaclofenOlderAdultDosing",
            ),
        ),
        ("tkg:TizanidineOrDantroleneAlternatives", "tkg:SecondLine"),
        STATEMENTS,
    ),
    "spasticity-mapped-to-spasm-code": Fault(
        "qc/spasticity-mapped-to-spasm-code-violation",
        (
            (
                "mappings.sssom.tsv",
                "skos:closeMatch\tICD10CM:G81.1\tSpastic hemiplegia",
                "skos:closeMatch\tICD10CM:R25.2\tCramp and spasm",
            ),
        ),
        ("tkg:Spasticity", "ICD10CM:R25.2"),
    ),
    "dose-without-unit": Fault(
        "qc/dose-without-unit-violation",
        ((STATEMENTS, "tkg:upperBound 10.0 ; tkg:unit tkg:Percent .", "tkg:upperBound 10.0 ."),),
        ("tkg:IntrathecalBaclofenRelativeDoseShare",),
        STATEMENTS,
    ),
    "undeclared-property": Fault(
        "qc/undeclared-property-violation",
        (("components/core.ttl", "skos:altLabel a owl:AnnotationProperty .\n", ""),),
        ("skos:altLabel",),
        "components/core.ttl",
    ),
    "undeclared-term": Fault(
        "qc/undeclared-term-violation",
        (
            (
                STATEMENTS,
                'and sedation" ;\n    tkg:aboutIntervention tkg:Baclofen ;',
                'and sedation" ;\n    tkg:aboutIntervention tkg:Baclofn ;',
            ),
        ),
        ("tkg:Baclofn", "tkg:BaclofenMonitoring"),
    ),
}


def test_check_passes_on_the_shipped_ontology(capsys) -> None:
    code = cli.main(["check"])
    captured = capsys.readouterr()
    assert code == 0, "therapy-kg check found problems:\n" + captured.out
    assert "0 problem(s)" in captured.err


def test_the_release_graph_passes_the_qc_queries_too(build_result) -> None:
    assert check_graph(build_result.graph) == []


def test_every_violation_query_has_a_fault_case() -> None:
    queries = {q.name for q in violation_queries()}
    assert len(queries) >= 9
    assert queries == {f.query for f in FAULTS.values()}


@pytest.mark.parametrize("query", violation_queries(), ids=lambda q: q.name)
def test_violation_query_has_a_summary_and_selects(query) -> None:
    assert query.summary, f"{query.path}: needs a '#+ summary:' header"
    assert "SELECT" in query.text.upper() and not query.parameters


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_check_names_the_faulty_iri(tmp_path, capsys, fault: Fault) -> None:
    source = edited_ontology(tmp_path, *fault.edits)
    assert cli.main(["check", "--source", str(source)]) == 1
    output = capsys.readouterr().out.splitlines()
    lines = [line for line in output if line.startswith(fault.query + ":")]
    assert lines, f"{fault.query} reported nothing; the report was:\n" + "\n".join(output)
    assert any(all(name in line for name in fault.names) for line in lines), "\n".join(lines)
    if fault.located_in:
        assert any(f"{source / fault.located_in}:" in line for line in lines), "\n".join(lines)


def test_run_checks_reports_shape_violations_with_file_and_line(tmp_path) -> None:
    """SHACL is part of the report: a statement without a source is named with its file:line."""
    fault = FAULTS["statement-without-source"]
    source = edited_ontology(tmp_path, *fault.edits)
    shacl = [p for p in run_checks(source) if p.startswith("shacl:")]
    assert any(
        "BenzodiazepinesAvoidedInStrokeRecovery" in p and f"{source / STATEMENTS}:" in p and "hasSource" in p
        for p in shacl
    ), shacl
