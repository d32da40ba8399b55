"""FHIR bundle size versus evaluation time, on the published Synthea bundles of tests/data/synthea (issue 13).

For each bundle: its size, the median time of `/evaluate`'s work in process (decode, read, evaluate, write),
and beside it the floor measured in the same run: orjson parsing the same bytes, which any reader pays.
Target: a 3 MB bundle well under a second (≤ 500 ms here).
Run: .venv/bin/python bench/bench_bundles.py [--repeat N]
"""

from __future__ import annotations

import argparse
import gzip
import sys
from datetime import date
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median, report, timings
from kg.service import TherapyKG
from kg.store.release import embedded_store

SYNTHEA = Path(__file__).resolve().parents[1] / "tests" / "data" / "synthea"
AS_OF = date(2026, 12, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    service = TherapyKG(embedded_store())
    bundles = sorted(
        ((gzip.decompress(p.read_bytes()), p.name) for p in SYNTHEA.glob("synthea-*.json.gz")), key=lambda b: len(b[0])
    )
    print(f"bundle size vs time, {len(bundles)} Synthea bundles, median of {args.repeat} (floor: orjson.loads)")
    for body, name in bundles:
        floor = median(timings(lambda body=body: orjson.loads(body), args.repeat, warmup=1)) * 1000
        whole = median(
            timings(
                lambda body=body: service.evaluate_document_json(orjson.loads(body), "fast", AS_OF),
                args.repeat,
                warmup=1,
            )
        )
        ms = whole * 1000
        megabytes = len(body) / 1_048_576
        over_3mb = megabytes >= 3
        report(
            f"{name.removeprefix('synthea-').removesuffix('.json.gz')} {megabytes:.1f} MB",
            ms,
            "ms",
            f"floor {floor:.1f} ms, x{ms / floor:.1f}" + (", target <= 500 ms" if over_3mb else ""),
            (ms <= 500) if over_3mb else None,
        )


if __name__ == "__main__":
    main()
