"""The import graph of kg and api at the level of stages (`kg.patient`, `api.sparql`, …), from the source.

`python -m tests.import_graph` prints it; ARCHITECTURE.md carries the same text, and
`tests/test_layout.py` fails when they differ (so the page stays true).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stage(module: str) -> str:
    """`kg.patient.fhir` → `kg.patient`; `kg.service` → `kg.service`."""
    return ".".join(module.split(".")[:2])


def stage_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for package in ("kg", "api"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if module.startswith("kg._data"):
                continue
            source = stage(module)
            targets = graph.setdefault(source, set())
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module]
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                    else []
                )
                targets.update(stage(n) for n in names if n.split(".")[0] in ("kg", "api") and stage(n) != source)
    return graph


def render() -> str:
    return "\n".join(f"{s} → {', '.join(sorted(t)) or '(nothing of ours)'}" for s, t in sorted(stage_imports().items()))


if __name__ == "__main__":
    print(render())
