"""The README's remote-store recipes, run as written (issue 14 item 2).

Each recipe is a code block of the README marked `# recipe: NAME` (`-- recipe: NAME` for SQL). Its lines run
in bash from the repository root, with only what must differ swapped for the test's own: ports, the
database folder, Virtuoso's password and folder. The closing `therapy-kg serve` line is not run; instead the
service's own start-up check (`load_state`) must find the release whole on the server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from api.settings import Settings
from api.state import load_state
from tests.oxigraph_server import free_port, oxigraph_binary
from tests.virtuoso_server import ADMIN, MISSING, virtuoso_binary, virtuoso_server

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def recipe(name: str) -> list[str]:
    """The lines of the README block marked `recipe: NAME`, the marker left out."""
    for block in re.findall(r"```(?:sh|sql)\n(.*?)```", README, re.DOTALL):
        lines = block.strip().splitlines()
        if lines and re.fullmatch(rf"(#|--) recipe: {re.escape(name)}", lines[0].strip()):
            return lines[1:]
    raise AssertionError(f"the README has no recipe {name!r}")


def run_shell(lines: list[str], workdir: Path) -> subprocess.Popen:
    """Run `lines` in bash from the repository root, in a process group of their own (servers they start in the
    background stay up until `stop`)."""
    script = workdir / "recipe.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(_waiting(line) for line in lines) + "\n")
    return subprocess.Popen(["bash", str(script)], cwd=ROOT, start_new_session=True)


def _waiting(line: str) -> str:
    """A line that starts a server in the background, then a wait until its port takes connections (a person
    typing the recipe waits for the server's start-up message)."""
    port = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not line.rstrip().endswith("&") or port is None:
        return line
    probe = f"(exec 3<>/dev/tcp/127.0.0.1/{port.group(1)}) 2>/dev/null"
    return f"{line}\nfor _ in $(seq 300); do {probe} && break; sleep 0.1; done"


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def served(endpoint: str) -> str | None:
    """What the service would refuse the store for (None: it serves), waiting for a server just started."""
    problem = "not checked"
    for _ in range(100):
        state = load_state(Settings(sparql_endpoint=endpoint))
        problem = state.knowledge_problem
        if problem is None or "cannot be checked" not in problem:
            return problem
        time.sleep(0.1)
    return problem


def _without_serve(lines: list[str]) -> tuple[list[str], str]:
    """The recipe's lines before `therapy-kg serve`, and the endpoint that line names."""
    serve = next(line for line in lines if "therapy-kg serve" in line)
    endpoint = re.search(r"--sparql-endpoint (\S+)", serve)
    assert endpoint is not None
    return [line for line in lines if line is not serve], endpoint.group(1)


@pytest.mark.server
@pytest.mark.parametrize("name", ["oxigraph", "oxigraph-load"])
def test_the_oxigraph_recipes_serve_the_release(name, tmp_path) -> None:
    if oxigraph_binary() is None:
        pytest.skip("the oxigraph server is not installed (pip install oxigraph)")
    port = str(free_port())
    lines, endpoint = _without_serve(recipe(name))
    swapped = [line.replace("--location db", f"--location {tmp_path / 'db'}").replace("7878", port) for line in lines]
    process = run_shell(swapped, tmp_path)
    try:
        assert process.wait(timeout=300) == 0  # every line ran; the server it started stays up
        assert served(endpoint.replace("7878", port)) is None
    finally:
        stop(process)


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("name", ["virtuoso", "virtuoso-bulk"])
def test_the_virtuoso_recipes_serve_the_release(name, tmp_path) -> None:
    if virtuoso_binary() is None:
        pytest.skip(MISSING)
    user, password = ADMIN
    data = tmp_path / "ontology"
    data.mkdir()
    (data / "therapy-kg.ttl").write_bytes((ROOT / "ontology" / "therapy-kg.ttl").read_bytes())
    with virtuoso_server(tmp_path / "virtuoso", dirs_allowed=(data,)) as (endpoint, sql_port):
        port = str(endpoint.split(":")[2].split("/")[0])
        if name == "virtuoso":
            lines, serve_endpoint = _without_serve(recipe(name))
            swapped = [line.replace("8890", port).replace("=dba ", f"={password} ") for line in lines]
            process = run_shell(swapped, tmp_path)
            assert process.wait(timeout=300) == 0
        else:
            serve_endpoint = "http://127.0.0.1:8890/sparql"  # the virtuoso recipe's serve line
            sql = "\n".join(recipe(name)).replace("'ontology'", f"'{data}'")
            subprocess.run(
                ["isql-vt", str(sql_port), user, password],
                input=sql.encode(),
                check=True,
                capture_output=True,
                timeout=300,
            )
        assert served(serve_endpoint.replace("8890", port)) is None
