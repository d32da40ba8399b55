"""Kernel-enforced limits of a SPARQL query worker: no new socket of any kind, and a memory ceiling.

A query worker runs text written by whoever calls /sparql, so its limits are set by the kernel,
not by the guard's good behaviour:

* a seccomp filter (libseccomp through `pyseccomp`) makes `socket`, `socketpair`, `connect` and the
  io_uring calls fail with EACCES, so no SERVICE, no DNS look-up and no stray library can open a
  connection; the worker talks to its parent only over the socket pair it inherited. The filter is
  installed before the worker reads its first job, applies to every thread it starts later and
  cannot be lifted (no_new_privs). `ptrace` and cross-process memory access are refused too, so a
  worker cannot reach into the API process.
* `RLIMIT_AS` caps the worker's address space: a query that needs more makes an allocation fail,
  the worker dies (Rust aborts) or reports MemoryError, and its parent answers 503 naming the limit.

Where the filter cannot be installed (not Linux, libseccomp missing, a kernel or container that
forbids seccomp), the worker refuses to start unless the operator started the server with
`--allow-unsandboxed`, which logs a warning at start-up and in `/health`.
"""

from __future__ import annotations

import errno
import resource
import socket
from dataclasses import dataclass

#: Calls refused with EACCES: every way to a new socket, and every way into another process.
REFUSED_CALLS = (
    "socket",
    "socketpair",
    "connect",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
)


class SandboxUnavailableError(RuntimeError):
    """The network filter could not be installed or did not hold when tried."""


@dataclass(frozen=True)
class SandboxReport:
    """What a worker reports to its parent after start-up."""

    network_filter: bool
    memory_limit_mb: int | None
    problem: str | None = None


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space (virtual memory, as RLIMIT_AS counts it) at `megabytes`."""
    limit = megabytes * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def refuse_network() -> None:
    """Install the seccomp filter, then prove it holds by trying to open an internet socket."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # OSError: libseccomp itself is missing
        raise SandboxUnavailableError(f"libseccomp is not available ({type(exc).__name__}: {exc})") from None
    try:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for call in REFUSED_CALLS:
            try:
                rules.add_rule(seccomp.ERRNO(errno.EACCES), call)
            except (RuntimeError, OSError, ValueError):  # a call this architecture does not have
                continue
        rules.load()
    except (RuntimeError, OSError, ValueError) as exc:
        raise SandboxUnavailableError(f"the seccomp filter could not be installed ({exc})") from None
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except PermissionError:
        return
    probe.close()
    raise SandboxUnavailableError("the seccomp filter was installed but an internet socket could still be opened")


def install(memory_mb: int, allow_unsandboxed: bool) -> SandboxReport:
    """Apply both limits; without the network filter, go on only when the operator allowed it."""
    limit_memory(memory_mb)
    try:
        refuse_network()
    except SandboxUnavailableError as exc:
        if not allow_unsandboxed:
            raise
        return SandboxReport(network_filter=False, memory_limit_mb=memory_mb, problem=str(exc))
    return SandboxReport(network_filter=True, memory_limit_mb=memory_mb)
