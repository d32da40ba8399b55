"""Start-up (build + classify + load) and competency-query latency, against the SPEC §11 targets.

Targets: start-up ≤ 10 s; each competency query ≤ 20 ms median over the embedded store.
Prints the figures and their ratio to the target (< 1 is within it). Not run by pytest.
Run: .venv/bin/python bench/bench_build.py [--build-repeat N] [--process-repeat N] [--query-repeat N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median, percentile, report, timings
from kg.ontology.build import build
from kg.store.queries import named_query
from kg.store.release import embedded_store
from kg.store.terms import TermResolver

STARTUP_TARGET_S = 10.0
QUERY_TARGET_MS = 20.0

#: Each competency question of queries/ with a representative binding.
CASES = [
    ("is-first-line", {"intervention": "tkg:Baclofen", "condition": "tkg:MuscleSpasm"}),
    ("is-first-line", {"intervention": "tkg:Stretching", "condition": "tkg:FocalSpasticity"}),
    ("therapy-ladder", {"condition": "tkg:GeneralizedSpasticity"}),
    ("intervention-statements", {"intervention": "tkg:OralBaclofen"}),
    ("statements-with-sources", {}),
    ("dosing-for-population", {"intervention": "tkg:OralBaclofen", "population": "tkg:OlderAdult"}),
    ("term", {"term": "tkg:Spasticity"}),
]


def _target(value: float, target: float, unit: str) -> tuple[str, bool]:
    return f"target <= {target:g} {unit} (ratio {value / target:.3f})", value <= target


def bench_startup(repeat: int):
    """Build + classify + load `repeat` times; the first run is the cold start of a fresh process."""
    runs = []
    store = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = build()
        built = time.perf_counter()
        store = embedded_store(result)
        loaded = time.perf_counter()
        runs.append({**result.timings, "build": built - start, "load": loaded - built, "startup": loaded - start})
    print(
        f"start-up: build + classify (HermiT) + load into the embedded store, n={repeat} "
        f"({result.triple_count} triples, {result.inferred_axioms} inferred axioms)"
    )
    for stage in ("parse", "mappings", "shacl", "reason", "build", "load"):
        report(f"  stage {stage} median", median([r.get(stage, 0.0) for r in runs]), "s")
    cold = runs[0]["startup"]
    warm = median([r["startup"] for r in runs[1:]]) if repeat > 1 else cold
    report("start-up, first run in this process (cold)", cold, "s", *_target(cold, STARTUP_TARGET_S, "s"))
    report(
        f"start-up median of {repeat} runs",
        median([r["startup"] for r in runs]),
        "s",
        *_target(median([r["startup"] for r in runs]), STARTUP_TARGET_S, "s"),
    )
    if repeat > 1:
        report("start-up median of the warm runs", warm, "s")
    return store


def bench_fresh_process(repeat: int) -> None:
    """Start-up as a server sees it: a new interpreter importing kg, building, classifying, loading."""
    code = "from kg.ontology.build import build; from kg.store.release import embedded_store; embedded_store(build())"
    root = Path(__file__).resolve().parents[1]
    values = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
        values.append(time.perf_counter() - start)
    value = median(values)
    report(
        f"start-up in a fresh process (imports included), n={repeat}",
        value,
        "s",
        *_target(value, STARTUP_TARGET_S, "s"),
    )


def bench_queries(store, repeat: int) -> None:
    resolver = TermResolver()
    print(f"competency queries over the embedded store, n={repeat} each (results consumed)")
    for name, params in CASES:
        query = named_query(name)

        def run(query=query, params=params):
            result = query.run(store, params, resolver)
            return bool(result) if not hasattr(result, "variables") else list(result)

        values = timings(run, repeat, warmup=5)
        ms = median(values) * 1000
        label = name + ("(" + ", ".join(params.values()) + ")" if params else "")
        report(f"  {label[:50]}", ms, "ms", *_target(ms, QUERY_TARGET_MS, "ms"))
        report("    p99", percentile(values, 99) * 1000, "ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-repeat", type=int, default=5)
    parser.add_argument("--process-repeat", type=int, default=3)
    parser.add_argument("--query-repeat", type=int, default=200)
    args = parser.parse_args()
    store = bench_startup(max(1, args.build_repeat))
    if args.process_repeat > 0:
        bench_fresh_process(args.process_repeat)
    bench_queries(store, args.query_repeat)


if __name__ == "__main__":
    main()
