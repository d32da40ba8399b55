"""Start and stop a real Virtuoso server (Debian's `virtuoso-opensource-7-bin`) with its own ini and database in
a temporary folder, on free loopback ports; the full lane's second third-party store (issue 14 item 6)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.oxigraph_server import free_port, stop_group, wait_until_answering

#: What a test prints when it cannot run here.
MISSING = "Virtuoso is not installed (Debian: apt-get install virtuoso-opensource-7-bin)"
#: The database's administrator, as a new Virtuoso database creates it.
ADMIN = ("dba", "dba")

INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
ServerThreads = 10
CheckpointInterval = 60
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
DirsAllowed = ., {folders}
CaseMode = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 30
"""


def virtuoso_binary() -> str | None:
    return shutil.which("virtuoso-t")


@contextmanager
def virtuoso_server(workdir: Path, dirs_allowed: tuple[Path, ...] = ()) -> Iterator[tuple[str, int]]:
    """A new Virtuoso database in `workdir`, served on free ports; yields the SPARQL endpoint URL and the SQL port
    (for `isql-vt`). `dirs_allowed` are folders its bulk loader may read."""
    binary = virtuoso_binary()
    if binary is None:
        raise RuntimeError(MISSING)
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, sql_port = free_port(), free_port()
    ini = workdir / "virtuoso.ini"
    folders = ", ".join(str(d) for d in (workdir, *dirs_allowed))
    ini.write_text(INI.format(dir=workdir, sql_port=sql_port, http_port=http_port, folders=folders))
    log = (workdir / "stdout.log").open("wb")
    process = subprocess.Popen(
        [binary, "-f", "-c", str(ini)], cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{http_port}/sparql"
    try:  # a new database is created first: up to two minutes
        wait_until_answering(url, process, 120, lambda: "Virtuoso did not start: " + _log_tail(workdir))
        yield url, sql_port
    finally:
        stop_group(process, 30)
        log.close()


def _log_tail(workdir: Path) -> str:
    log = workdir / "virtuoso.log"
    return log.read_text()[-2000:] if log.exists() else "(no log)"
