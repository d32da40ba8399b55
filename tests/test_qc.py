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
from tests.ontology_edits import edited_ontology, table_cell, table_row

CORE = "components/core.ttl"
CONDITIONS = "templates/conditions/conditions.tsv"
STATEMENTS = "templates/statements/statements.tsv"
DOSES = "templates/statements/dose-specifications.tsv"
BENZODIAZEPINES = "tkg:BenzodiazepinesAvoidedInStrokeRecovery"


@dataclass(frozen=True)
class Fault:
    query: str  # the violation query that must catch it
    edits: tuple[tuple[str, str, str], ...]  # (file under ontology/, old text, new text)
    names: tuple[str, ...]  # what the problem line must name
    located_in: str | None = None  # file whose place (file:line, or table row N) the problem line must carry


FAULTS = {
    "missing-label": Fault(
        "qc/missing-label-violation", (table_cell(CONDITIONS, "tkg:Stroke", "label", ""),), ("tkg:Stroke",), CONDITIONS
    ),
    "multiple-labels": Fault(
        "qc/multiple-labels-violation",
        ((CORE, '    rdfs:label "condition"@en ;', '    rdfs:label "condition"@en , "disorder"@en ;'),),
        ("tkg:Condition",),
        CORE,
    ),
    "duplicate-label": Fault(
        "qc/duplicate-label-violation",
        (table_cell(CONDITIONS, "tkg:Stroke", "label", "cerebral palsy"),),
        ("tkg:CerebralPalsy", "tkg:Stroke", '"cerebral palsy"'),
        CONDITIONS,
    ),
    "missing-definition": Fault(
        "qc/missing-definition-violation",
        (table_cell(CONDITIONS, "tkg:Stroke", "definition", ""),),
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
        (table_cell(STATEMENTS, BENZODIAZEPINES, "sources", ""),),
        (BENZODIAZEPINES,),
        STATEMENTS,
    ),
    "statement-without-claim-text": Fault(
        "qc/statement-without-claim-text-violation",
        (table_cell(STATEMENTS, BENZODIAZEPINES, "claim text", ""),),
        (BENZODIAZEPINES,),
        STATEMENTS,
    ),
    "source-2-statement-about-intrathecal-baclofen": Fault(
        "qc/statement-source-scope-violation",
        (
            table_cell(
                STATEMENTS,
                "tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm",
                "intervention",
                "tkg:IntrathecalBaclofen",
            ),
        ),
        ("tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm", "tkg:Source2", "tkg:IntrathecalBaclofen"),
        STATEMENTS,
    ),
    "statement-about-wrong-kind": Fault(
        "qc/statement-about-wrong-kind-violation",
        (table_cell(STATEMENTS, BENZODIAZEPINES, "condition", "tkg:Diazepam"),),
        (BENZODIAZEPINES, "tkg:Diazepam", "tkg:Condition"),
        STATEMENTS,
    ),
    "preferred-not-among-options": Fault(
        "qc/preferred-not-among-options-violation",
        (
            table_cell(
                STATEMENTS, "tkg:BotulinumToxinPreferredForFocalSpasticity", "preferred intervention", "tkg:Tizanidine"
            ),
        ),
        ("tkg:BotulinumToxinPreferredForFocalSpasticity", "tkg:Tizanidine"),
        STATEMENTS,
    ),
    "second-line-without-prior-line": Fault(
        "qc/second-line-without-prior-line-violation",
        (table_cell(STATEMENTS, "tkg:TizanidineOrDantroleneAlternatives", "prior line", ""),),
        ("tkg:TizanidineOrDantroleneAlternatives", "tkg:SecondLine"),
        STATEMENTS,
    ),
    "spasticity-mapped-to-spasm-code": Fault(
        "qc/spasticity-mapped-to-spasm-code-violation",
        (
            (
                "mappings.sssom.tsv",
                "skos:closeMatch\tICD10CM:G81.1\tSpastic hemiplegia",
                "skos:closeMatch\tICD10CM:M62.831\tMuscle spasm of calf",
            ),
        ),
        ("tkg:Spasticity", "ICD10CM:M62.831"),
    ),
    "dose-without-unit": Fault(
        "qc/dose-without-unit-violation",
        (table_cell(DOSES, "tkg:IntrathecalBaclofenRelativeDoseShare", "unit", ""),),
        ("tkg:IntrathecalBaclofenRelativeDoseShare",),
        DOSES,
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
                CORE,
                'rdfs:domain tkg:DoseSpecification ; rdfs:range xsd:decimal ;\n    rdfs:label "lower bound"',
                'rdfs:domain tkg:DoseSpecificaton ; rdfs:range xsd:decimal ;\n    rdfs:label "lower bound"',
            ),
        ),
        ("tkg:DoseSpecificaton", "tkg:lowerBound"),
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
        place = f"{source / fault.located_in}" + (" row " if fault.located_in.endswith(".tsv") else ":")
        assert any(place in line for line in lines), "\n".join(lines)


def test_run_checks_reports_shape_violations_with_file_and_line(tmp_path) -> None:
    """SHACL is part of the report: a statement without a source is named with its table and row."""
    fault = FAULTS["statement-without-source"]
    source = edited_ontology(tmp_path, *fault.edits)
    shacl = [p for p in run_checks(source) if p.startswith("shacl:")]
    assert any(
        "BenzodiazepinesAvoidedInStrokeRecovery" in p
        and f"{source / STATEMENTS} row {table_row(STATEMENTS, BENZODIAZEPINES)}" in p
        and "hasSource" in p
        for p in shacl
    ), shacl
