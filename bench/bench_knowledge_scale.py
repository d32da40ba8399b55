"""How the build, start-up and engines scale with knowledge: N synthetic copies of the answer (issue 23 item 5).

Each N runs in a fresh process of its own (so peak RSS is that N's), which writes N - 1 copies of the answer
into a temporary copy of the tables (`bench/knowledge_copies.py`: marked synthetic, never shipped, removed
after; each copy with its own subclass of the vocabulary class its statements name, so the patient's facts touch
one answer), builds them with HermiT, and measures: build time, release size, start-up (load the built release into
the embedded store and compile the service, as `serve` does), the fast engine's compile time, the fast engine
per patient (median) for a patient whose facts touch one answer, the owl engine per patient (median), the
ladder query of one condition, and peak RSS. The figures are printed beside N = 1 of the same run, with their
ratios, and the SPEC §11 targets: at N = 1,000 build and start-up per answer within 1.5× of N = 10, the
per-patient costs and the ladder query within 2× of N = 1, memory linear.

Run: .venv/bin/python bench/bench_knowledge_scale.py 1 10 100 [--json] [--owl-repeat 3] [--fast-repeat 200]
Not run by pytest.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median, timings  # noqa: E402
from bench.knowledge_copies import copied_ontology  # noqa: E402

#: a patient whose facts touch one answer (the original's terms only)
PATIENT = {
    "id": "bench",
    "age": 72,
    "conditions": ["tkg:GeneralizedSpasticity"],
    "therapies_tried": ["tkg:Stretching"],
    "current_therapies": ["tkg:OralBaclofen"],
}
KEYS = ("n", "build_s", "startup_s", "compile_s", "fast_patient_us", "owl_patient_ms", "ladder_ms", "peak_rss_mib")


def measure(n: int, fast_repeat: int, owl_repeat: int) -> dict[str, object]:
    """One N, in this process."""
    from kg.knowledge import compile_knowledge
    from kg.ontology.build import build, write_release
    from kg.resources import RELEASE_FILE
    from kg.service import TherapyKG
    from kg.store.queries import named_query
    from kg.store.release import embedded_store
    from kg.store.terms import TermResolver

    with tempfile.TemporaryDirectory(prefix="tkg-scale-") as work:
        folder = copied_ontology(Path(work), n, own_vocabulary=True)
        start = time.perf_counter()
        result = build(folder)
        build_s = time.perf_counter() - start
        release = write_release(result, Path(work) / "release")[0]
        assert release.name == RELEASE_FILE
        triples = result.triple_count
        del result  # start-up is measured as `serve` starts: with no build in memory (its objects slowed the
        gc.collect()  # garbage collector down 3x at N = 1,000)

        start = time.perf_counter()
        store = embedded_store(release=release)
        service = TherapyKG(store, source_dir=folder)
        startup_s = time.perf_counter() - start

        compile_s = median(timings(lambda: compile_knowledge(store), 3, warmup=0))
        patient = service.read_document(PATIENT)
        fast = timings(lambda: service.evaluate(patient, "fast"), fast_repeat, warmup=5)
        owl_ms: float | None
        try:
            owl_ms = median(timings(lambda: service.evaluate(patient, "owl"), owl_repeat, warmup=0)) * 1000
        except Exception as exc:  # a failure is a figure too: report it, go on with the other N
            print(f"N={n}: the owl engine failed: {exc}", file=sys.stderr)
            owl_ms = None
        ladder = named_query("therapy-ladder")
        resolver = TermResolver()
        ladder_s = median(
            timings(lambda: list(ladder.run(store, {"condition": "tkg:GeneralizedSpasticity"}, resolver)), 50)
        )
        lines = named_query("api/therapy-lines")  # the /therapy-lines route's query, beside the competency one
        lines_s = median(
            timings(lambda: list(lines.run(store, {"condition": "tkg:GeneralizedSpasticity"}, resolver)), 50)
        )
        return {
            "n": n,
            "build_s": build_s,
            "startup_s": startup_s,
            "compile_s": compile_s,
            "fast_patient_us": median(fast) * 1e6,
            "owl_patient_ms": owl_ms,
            "ladder_ms": ladder_s * 1000,
            "lines_ms": lines_s * 1000,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "release_bytes": release.stat().st_size,
            "triples": triples,
        }


def _in_child(n: int, args: argparse.Namespace) -> dict[str, object]:
    command = [sys.executable, __file__, "--one", str(n), "--fast-repeat", str(args.fast_repeat)]
    command += ["--owl-repeat", str(args.owl_repeat)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratio(value: object, base: object) -> str:
    if not isinstance(value, float | int) or not isinstance(base, float | int) or not base:
        return "—"
    return f"{value / base:.2f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1, 10])
    parser.add_argument("--json", action="store_true", help="one JSON object per N")
    parser.add_argument("--fast-repeat", type=int, default=200)
    parser.add_argument("--owl-repeat", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child: measure one N, print JSON
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.fast_repeat, args.owl_repeat)))
        return
    sizes = sorted(set(args.sizes) | {1})  # N = 1 is the baseline of every run
    rows = [_in_child(n, args) for n in sizes]
    if args.json:
        for row in rows:
            print(json.dumps({key: row[key] for key in KEYS}))
        return
    base = rows[0]
    print("knowledge scale: N copies of the answer (ratios to N = 1 of this run)")
    for row in rows:
        print(f"N = {row['n']} ({row['triples']} triples, release {row['release_bytes'] / 1e6:.2f} MB)")
        for key, unit in (
            ("build_s", "s"),
            ("startup_s", "s"),
            ("compile_s", "s"),
            ("fast_patient_us", "µs"),
            ("owl_patient_ms", "ms"),
            ("ladder_ms", "ms"),
            ("lines_ms", "ms"),
            ("peak_rss_mib", "MiB"),
        ):
            value = row[key]
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"  {key:16} {shown:>12} {unit:4} {_ratio(value, base[key]):>8}")


if __name__ == "__main__":
    main()
