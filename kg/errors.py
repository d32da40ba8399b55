"""One home for the errors therapy-kg raises; each names the IRI, shape, file or field at fault."""

from __future__ import annotations


class TherapyKGError(Exception):
    """Base of every error the library raises on purpose."""


class SourceFileError(TherapyKGError):
    """An ontology, shape, mapping or query file cannot be read or parsed."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class ShapeViolationError(TherapyKGError):
    """SHACL validation failed; `violations` holds (focus node, shape/path, message) triples."""

    def __init__(self, violations: list[tuple[str, str, str]]) -> None:
        self.violations = violations
        lines = [f"  {focus}: {shape}: {message}" for focus, shape, message in violations]
        super().__init__(f"{len(violations)} SHACL violation(s):\n" + "\n".join(lines))


class ReasoningError(TherapyKGError):
    """The DL reasoner found the ontology inconsistent or a class unsatisfiable."""

    def __init__(self, message: str, iris: list[str] | None = None) -> None:
        self.iris = iris or []
        super().__init__(message + (": " + ", ".join(self.iris) if self.iris else ""))


class ReasonerUnavailableError(TherapyKGError):
    """Java is missing, the reasoner crashed or ran out of its time or memory bound."""


class QualityCheckError(TherapyKGError):
    """`therapy-kg check` found problems; `problems` lists them as readable lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} quality problem(s):\n" + "\n".join("  " + p for p in problems))


class PatientInputError(TherapyKGError):
    """Patient input is malformed; `field` is the JSON path of the offending value."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class QueryRejectedError(TherapyKGError):
    """A SPARQL request is refused before it runs (update, SERVICE, LOAD, remote dataset, syntax)."""


class QueryTimeoutError(TherapyKGError):
    """A SPARQL query ran past its time limit and was cancelled."""


class StoreError(TherapyKGError):
    """The graph store (embedded or remote) failed to answer."""
