"""Load shedding under overload (issue 15, item 8): POST /evaluate at 200 connections on one uvicorn worker.

Runs `therapy-kg serve --workers 1` three times in the same run, with the same load:
* before: patients evaluated on the event loop (`evaluate_inline_bytes` 1 MiB) and a queue of a
  million places, i.e. the server as it was before issue 15;
* the evaluation threads without shedding (a million places: every request waits its turn);
* after: the defaults: the threads, admitting a request only if it could start within
  `evaluate_max_wait_s` (and at most `evaluate_queue` waiting); beyond, 503 with Retry-After at once.
The load is wrk (Debian's `wrk`: C, little CPU of its own) at 200 keep-alive connections posting
the vignette patients in turn. wrk reports one latency distribution for every response, so its
Lua script stamps each patient id with the send time (µs) and reads it back from the 200's
`"patient"`: the figures of answered requests are theirs alone; 503s are counted. Meanwhile one
client asks GET /health every 20 ms on a connection of its own: its p50/p99 are measured in the
same run. Target: the p99 of answered requests within 10× their p50.
Run: .venv/bin/python bench/bench_load_shedding.py [--seconds S] [--connections C]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median, percentile, report
from bench.server import HOST, free_port, probe_health, start_server, stop_server, wrk

VIGNETTES = [json.loads(p.read_text())["patient"] for p in sorted((ROOT / "tests" / "vignettes").glob("*.json"))]
_NO_SHEDDING = {"TKG_EVALUATE_QUEUE": "1000000", "TKG_EVALUATE_MAX_WAIT_S": "1000000", "TKG_REASONER_QUEUE": "1000000"}
MODES = {
    "before: evaluated on the event loop, no shedding (as before issue 15)": {
        **_NO_SHEDDING,
        "TKG_EVALUATE_INLINE_BYTES": "1048576",
    },
    "evaluation threads, no shedding": _NO_SHEDDING,
    "after: evaluation threads and places, the defaults": {},
}

_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_usec; } timeval_t; int gettimeofday(timeval_t *tv, void *tz); ]]
local tv = ffi.new("timeval_t")
local function now_us() ffi.C.gettimeofday(tv, nil); return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec) end
local bodies = {
%(bodies)s
}
local headers = {["Content-Type"] = "application/json"}
local n = 0
answered, shed, other = {}, 0, 0
request = function()
  n = n + 1
  return wrk.format("POST", "/evaluate", headers, string.format(bodies[n %% #bodies + 1], now_us()))
end
response = function(status, headers, body)
  if status == 200 then
    answered[#answered + 1] = now_us() - tonumber(string.match(body, '"patient":"(%%d+)"'))
  elseif status == 503 then shed = shed + 1 else other = other + 1 end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local f = io.open("%(out)s", "w")
  for _, t in ipairs(threads) do
    for _, v in ipairs(t:get("answered")) do f:write(v, "\n") end
    f:write("shed ", t:get("shed"), "\n", "other ", t:get("other"), "\n")
  end
  local e = summary.errors
  f:write("errors ", e.connect + e.read + e.write + e.timeout, "\n")
  f:close()
end
"""


def _script(directory: Path) -> tuple[Path, Path]:
    """The wrk script, and the file its `done` writes (answered latencies in µs, then the counts)."""
    out = directory / "answered.txt"
    bodies = ",\n".join(
        f"[==[{json.dumps({**v, 'id': '__ID__'}).replace('%', '%%').replace('__ID__', '%d')}]==]" for v in VIGNETTES
    )
    script = directory / "evaluate.lua"
    script.write_text(_LUA % {"bodies": bodies, "out": out})
    return script, out


def measure(port: int, connections: int, seconds: float, script: Path, out: Path) -> dict:
    """One wrk run at `connections` with /health probed alongside."""
    stop, health = threading.Event(), []
    prober = threading.Thread(target=probe_health, args=(port, stop, health))
    prober.start()
    try:
        wrk(f"http://{HOST}:{port}/evaluate", connections, seconds, "--timeout", "120s", "-s", str(script))
    finally:
        stop.set()
        prober.join()
    answered, counts = [], {}
    for line in out.read_text().split("\n"):
        if line and line[0].isdigit():
            answered.append(int(line) / 1e6)
        elif line:
            name, value = line.split()
            counts[name] = counts.get(name, 0) + int(value)
    return {"answered": answered, "health": health, **counts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15, help="seconds of load per mode")
    parser.add_argument("--connections", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not on PATH (Debian: apt-get install wrk); this benchmark needs it")
    print(
        f"POST /evaluate at {args.connections} connections (wrk), one uvicorn worker, {args.seconds:g} s per mode, "
        f"{len(VIGNETTES)} vignette patients in turn; GET /health every 20 ms alongside"
    )
    with tempfile.TemporaryDirectory() as tmp:
        script, out = _script(Path(tmp))
        for mode, env in MODES.items():
            port = free_port()
            server = start_server(port, env=env)
            try:
                measure(port, 16, 2, script, out)  # warm-up
                result = measure(port, args.connections, args.seconds, script, out)
            finally:
                stop_server(server)
            answered, health = result["answered"], result["health"]
            p50, p99 = median(answered), percentile(answered, 99)
            print(f"-- {mode}")
            report("answered (200)", len(answered), "requests")
            report("refused at once (503 + Retry-After)", result.get("shed", 0), "requests")
            report(
                "other statuses + socket errors and timeouts",
                result.get("other", 0) + result.get("errors", 0),
                "requests",
            )
            report("answered p50", p50 * 1000, "ms")
            report("answered p99", p99 * 1000, "ms")
            report("answered max", max(answered) * 1000, "ms")
            report("answered p99 / p50", p99 / p50, "x", "target <= 10", p99 / p50 <= 10)
            report("/health p50 (same run)", median(health) * 1000, "ms")
            report("/health p99 (same run)", percentile(health, 99) * 1000, "ms")


if __name__ == "__main__":
    main()
