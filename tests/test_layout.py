"""The dependencies point one way: api builds on kg, kg never imports api (issue 9)."""

from __future__ import annotations

import ast
from pathlib import Path

KG = Path(__file__).resolve().parents[1] / "kg"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_module_of_kg_imports_the_api() -> None:
    upward = {
        str(p.relative_to(KG.parent)): sorted(m for m in _imports(p) if m == "api" or m.startswith("api."))
        for p in sorted(KG.rglob("*.py"))
    }
    assert not {path: modules for path, modules in upward.items() if modules}


def test_serve_joins_the_command_line_through_its_entry_point() -> None:
    from kg.cli import make_parser

    serve = make_parser().parse_args(["serve", "--port", "8123"])
    assert serve.func.__module__ == "api.cli" and serve.port == 8123


def test_the_import_graph_in_architecture_md_is_current() -> None:
    from tests.import_graph import ROOT, render

    assert render() in (ROOT / "ARCHITECTURE.md").read_text(), (
        "run python -m tests.import_graph, update ARCHITECTURE.md"
    )


#: kg's stages in the order data flows (ARCHITECTURE.md); a module may import its own stage and earlier ones.
STAGES = (
    "kg.ontology",
    "kg.store",
    "kg.knowledge",
    "kg.knowledge_check",
    "kg.qc",
    "kg.generate",
    "kg.patient",
    "kg.reasoning",
    "kg.explain",
    "kg.service",
    "kg.examples",
    "kg.batch",
    "kg.population",
    "kg.release_diff",
    "kg.cli",
)
#: What every stage may use: the package itself, its errors, JSON type names and data files.
SHARED = ("kg", "kg.errors", "kg.json_types", "kg.resources")


def _stage(module: str) -> str | None:
    return next((s for s in STAGES if module == s or module.startswith(s + ".")), None)


def test_every_module_of_kg_imports_only_its_own_and_earlier_stages() -> None:
    against: dict[str, list[str]] = {}
    for path in sorted(KG.rglob("*.py")):
        module = ".".join(path.relative_to(KG.parent).with_suffix("").parts).removesuffix(".__init__")
        own = _stage(module)
        if own is None:
            assert module in SHARED, f"{module} is in no stage: add it to STAGES or SHARED"
            continue
        later = [
            m
            for m in _imports(path)
            if m.startswith("kg") and m not in SHARED and (s := _stage(m)) and STAGES.index(s) > STAGES.index(own)
        ]
        if later:
            against[module] = sorted(later)
    assert not against, f"imports against the stage order: {against}"
