"""Knowledge authored as tables (issue 23 items 1 and 2): ROBOT templates under ontology/templates/ build the
release, and an author's errors come back in the author's words: file, row, column, value and rule, all of a
build at once, exit 2.

That the tables build the release the Turtle components built, triple for triple, is shown by the committed
release: it was written from the Turtle before the move, and `tests/test_release_formats.py` requires a fresh
build from the tables to equal it byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib

from kg import cli
from kg.ontology.build import build
from kg.ontology.generated_components import component_graphs, component_text
from kg.ontology.templates import TemplateError
from kg.resources import ontology_dir
from tests.ontology_edits import edited_ontology, table_cell, table_row

STATEMENTS = "templates/statements/statements.tsv"
CONDITIONS = "templates/conditions/conditions.tsv"
DOSES = "templates/statements/dose-specifications.tsv"
TIZANIDINE = "tkg:TizanidineOrDantroleneAlternatives"


def test_the_committed_components_are_what_the_tables_give() -> None:
    """Protégé opens components/*.ttl; they must be the tables compiled now (else: `make release`)."""
    graphs = component_graphs(ontology_dir())
    assert {p.name for p in graphs} == {"conditions.ttl", "interventions.ttl", "sources.ttl", "statements.ttl"}
    for path, graph in graphs.items():
        assert path.read_text(encoding="utf-8") == component_text(path, graph), f"{path.name}: run `make release`"


def test_the_tables_hold_every_statement_of_the_release(build_result) -> None:
    statements = {line.split("\t")[0] for line in (ontology_dir() / STATEMENTS).read_text().splitlines()[2:]}
    tkg = "https://w3id.org/therapy-kg/"
    in_release = {
        "tkg:" + str(s).removeprefix(tkg)
        for s in build_result.graph.subjects(rdflib.URIRef(tkg + "claimText"), None)
        if str(s).startswith(tkg)
    }
    assert statements == in_release


def _problems(tmp_path: Path, *edits: tuple[str, str, str]) -> list[str]:
    source = edited_ontology(tmp_path, *edits)
    with pytest.raises(TemplateError) as refused:
        build(source, reason=False)
    return [str(p) for p in refused.value.problems]


def _header_edit(table: str, template: str, new: str) -> tuple[str, str, str]:
    lines = (ontology_dir() / table).read_text(encoding="utf-8").splitlines()
    return table, lines[1] + "\n", lines[1].replace(template, new, 1) + "\n"


def test_an_unknown_template_string_names_its_column(tmp_path) -> None:
    [problem] = _problems(tmp_path, _header_edit(STATEMENTS, "AL tkg:doubtQuestion@en", "Q tkg:doubtQuestion"))
    assert problem.endswith(
        "row 2, column `doubt question`: 'Q tkg:doubtQuestion' is not a ROBOT template string this project "
        "compiles (ID, TYPE, A, AT, AL, AI, SC %, DC %, I, >A…; SPLIT=)"
    )
    assert STATEMENTS in problem


def test_a_column_naming_an_undeclared_property_is_refused(tmp_path) -> None:
    [problem] = _problems(tmp_path, _header_edit(STATEMENTS, "AI tkg:aboutPopulation", "AI tkg:aboutPopulaton"))
    assert "column `population`: 'AI tkg:aboutPopulaton' names no annotation property declared" in problem


def test_a_duplicate_id_names_both_rows(tmp_path) -> None:
    row = table_row(STATEMENTS, TIZANIDINE)
    duplicate = table_cell(STATEMENTS, "tkg:IntrathecalBaclofenForRefractorySpasticity", "ID", TIZANIDINE)
    [problem] = _problems(tmp_path, duplicate)
    later = table_row(STATEMENTS, "tkg:IntrathecalBaclofenForRefractorySpasticity")
    assert f"row {later}, column `ID`: '{TIZANIDINE}' is already defined (row {row})" in problem


def test_a_value_of_the_wrong_datatype_names_cell_and_datatype(tmp_path) -> None:
    [problem] = _problems(tmp_path, table_cell(DOSES, "tkg:OralBaclofenDosingTargetDailyDose", "upper bound", "80 mg"))
    row = table_row(DOSES, "tkg:OralBaclofenDosingTargetDailyDose")
    assert problem.endswith(f"row {row}, column `upper bound`: '80 mg' is not a valid xsd:decimal")


def test_every_problem_of_a_build_is_reported_at_once_with_exit_code_2(tmp_path, capsys) -> None:
    source = edited_ontology(
        tmp_path,
        table_cell(DOSES, "tkg:OralBaclofenDosingTargetDailyDose", "upper bound", "eighty"),
        table_cell(CONDITIONS, "tkg:Stroke", "parent", "a stroke"),
        _header_edit(STATEMENTS, "AI tkg:aboutPopulation", "AI tkg:aboutPopulaton"),
    )
    assert cli.main(["build", "--source", str(source), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "3 problems in the knowledge tables" in err
    assert "'eighty' is not a valid xsd:decimal" in err
    assert f"{CONDITIONS} row {table_row(CONDITIONS, 'tkg:Stroke')}, column `parent`: 'a stroke' is not a term" in err
    assert "'AI tkg:aboutPopulaton' names no annotation property" in err
    assert not (tmp_path / "out").exists(), "a refused build writes nothing"


def test_a_row_with_too_few_cells_is_named_and_so_are_the_cells_that_named_its_term(tmp_path) -> None:
    table, row, _ = table_cell(CONDITIONS, "tkg:Stroke", "label", "stroke")
    problems = _problems(tmp_path, (table, row, row.rsplit("\t", 2)[0] + "\n"))
    cells = len(row.split("\t"))
    assert (
        f"{CONDITIONS} row {table_row(CONDITIONS, 'tkg:Stroke')}: has {cells - 2} cells for {cells} columns"
        in (problems[0])
    )
    dangling = [p for p in problems if "'tkg:Stroke' names a term no table or file declares" in p]
    assert dangling and all(STATEMENTS in p or CONDITIONS in p for p in dangling)


def test_a_line_that_is_not_a_line_of_therapy_names_the_lines(tmp_path) -> None:
    [problem] = _problems(tmp_path, table_cell(STATEMENTS, TIZANIDINE, "line", "Second line"))
    row = table_row(STATEMENTS, TIZANIDINE)
    assert problem.endswith(f"row {row}, column `line`: 'Second line' is not one of FirstLine, SecondLine, ThirdLine")


def test_a_source_the_seed_does_not_number_names_the_sources(tmp_path) -> None:
    [problem] = _problems(tmp_path, table_cell(STATEMENTS, TIZANIDINE, "sources", "tkg:Source1|tkg:Source9"))
    assert (
        "column `sources`: 'tkg:Source9' is not one of Source1, Source2, Source3, Source4, Source5, Source6" in problem
    )


def test_a_dangling_reference_is_named(tmp_path) -> None:
    [problem] = _problems(tmp_path, table_cell(STATEMENTS, "tkg:BaclofenMonitoring", "intervention", "tkg:Baclofn"))
    row = table_row(STATEMENTS, "tkg:BaclofenMonitoring")
    assert problem.endswith(f"row {row}, column `intervention`: 'tkg:Baclofn' names a term no table or file declares")


def test_a_code_mapped_to_a_second_term_names_the_first(tmp_path) -> None:
    """The SSSOM table is one of the author's tables too: a code names one term, or reading it is ambiguous."""
    sssom = (ontology_dir() / "mappings.sssom.tsv").read_text(encoding="utf-8").splitlines()
    first = next(n for n, line in enumerate(sssom, start=1) if "\tICD10CM:G35\t" in line)
    last = sssom[-1]
    added = "tkg:Stroke\tstroke\tskos:exactMatch\tICD10CM:G35\tMultiple sclerosis\tsemapv:ManualMappingCuration\ttest"
    problems = _problems(tmp_path, ("mappings.sssom.tsv", last + "\n", last + "\n" + added + "\n"))
    assert problems == [
        f"{tmp_path / 'ontology' / 'mappings.sssom.tsv'} row {len(sssom) + 1}, column `object_id`: 'ICD10CM:G35' is "
        f"already mapped to tkg:MultipleSclerosis (row {first})"
    ]


@pytest.mark.parametrize(
    ("edit", "table", "term", "rule"),
    [
        (
            table_cell(STATEMENTS, TIZANIDINE, "prior line", ""),
            STATEMENTS,
            TIZANIDINE,
            "qc/second-line-without-prior-line-violation",
        ),
        (
            table_cell(DOSES, "tkg:IntrathecalBaclofenRelativeDoseShare", "unit", ""),
            DOSES,
            "tkg:IntrathecalBaclofenRelativeDoseShare",
            "qc/dose-without-unit-violation",
        ),
    ],
    ids=["second-line-without-a-first-line", "dose-without-a-unit"],
)
def test_the_build_refuses_what_the_qc_queries_find_naming_the_row(tmp_path, capsys, edit, table, term, rule) -> None:
    """`therapy-kg build` runs the checks of `therapy-kg check` first (as ODK runs `robot report`): nothing is
    built, exit 2, and each problem names the rule, the term and its table row."""
    source = edited_ontology(tmp_path, edit)
    assert cli.main(["build", "--source", str(source), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    found = [line for line in err.splitlines() if line.startswith(rule)]
    assert found and term in found[0] and f"{source / table} row {table_row(table, term)}" in found[0], err
    assert "nothing built" in err and not (tmp_path / "out").exists()


def test_a_claim_text_that_is_not_the_seeds_names_its_cell(tmp_path) -> None:
    """Nothing clinical is invented: a claim text must be a verbatim span of the seed (ontology/seed.txt)."""
    invented = "Alternative oral agents include tizanidine, dantrolene or cannabis"
    [problem] = _problems(tmp_path, table_cell(STATEMENTS, TIZANIDINE, "claim text", invented))
    row = table_row(STATEMENTS, TIZANIDINE)
    rule = "is not a span of the seed (seed.txt, its citation digits left out)"
    assert problem.endswith(f"row {row}, column `claim text`: '{invented}' {rule}")
