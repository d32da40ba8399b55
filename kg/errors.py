"""One home for the errors therapy-kg raises on purpose, each with a stable `code`.

The hierarchy has five branches, by whose move it is:

- `InputError` (`input.*`): the caller's request, file or setting is wrong; fix it and retry.
- `KnowledgeError` (`knowledge.*`): the ontology sources are wrong (a file, a shape, a contradiction).
- `StoreError` (`store.*`): the graph store failed to answer.
- `ReasonerError` (`reasoner.*`): the DL reasoner could not give a complete answer.
- `LimitError` (`limit.*`): a configured limit refused or stopped the work; waiting may help.

A code is dotted from its branch (`input.patient`, `limit.timeout`), never renamed once published:
clients and scripts match on it. The API maps codes to HTTP statuses in `api/errors.py` and writes
every error as RFC 9457 problem+json; the CLI maps the branch to its exit code (`exit_code`).
Messages name the IRI, shape, file or field at fault, and never carry patient data beyond the field.
"""

from __future__ import annotations

from typing import ClassVar


class TherapyKGError(Exception):
    """Base of every error the library raises on purpose.

    `field` names the input member at fault (a JSON path, a parameter); `retry_after` is the number of
    seconds after which the same request may succeed, when waiting helps.
    """

    code: ClassVar[str] = "error"
    #: A short summary of the kind of problem, the same for every occurrence (problem+json `title`).
    title: ClassVar[str] = "therapy-kg error"

    def __init__(self, message: str, *, field: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.retry_after = retry_after

    @classmethod
    def at(cls, field: str, message: str) -> TherapyKGError:
        """The error of the member `field`, its message prefixed with where it is.

        >>> str(InputError.at("context.selections[0]", "names no draft order"))
        'context.selections[0]: names no draft order'
        """
        return cls(f"{field}: {message}", field=field)


# --- input: the caller's request, file or setting ----------------------------------------------


class InputError(TherapyKGError):
    """The request, file or setting given is wrong; the message says what to change."""

    code = "input"
    title = "invalid input"


class PatientInputError(InputError):
    """Patient input is malformed; `field` is the JSON path of the offending value."""

    code = "input.patient"
    title = "invalid patient input"
    field: str  # always given: the JSON path of the value at fault

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


class NothingToEvaluateError(PatientInputError):
    """A record holds no condition and no current therapy the evaluation can use (every Condition inactive,
    resolved, refuted or uncoded, no active medication): nothing to answer, and not a malformed record."""

    code = "input.patient.nothing-to-evaluate"
    title = "the record holds nothing to evaluate"


class InvalidRequestError(InputError):
    """A request member is missing or has the wrong type or value (the request schema is not met)."""

    code = "input.request"
    title = "invalid request"


class MalformedBodyError(InputError):
    """The request body is not well-formed (not JSON, not UTF-8, not the form it claims)."""

    code = "input.body"
    title = "malformed request body"


class DuplicateKeyError(MalformedBodyError):
    """A JSON object names one key twice: which value was meant is unknown, so neither is used."""

    code = "input.body.duplicate-key"
    title = "duplicate JSON key"


class MediaTypeError(InputError):
    """The body's Content-Type is not one the route reads."""

    code = "input.media-type"
    title = "unsupported media type"


class NotAcceptableError(InputError):
    """No representation the route can send matches the request's Accept header."""

    code = "input.not-acceptable"
    title = "not acceptable"


class NotFoundError(InputError):
    """The resource named in the path (a term, source, code, query or service) does not exist."""

    code = "input.not-found"
    title = "not found"


class QueryRejectedError(InputError):
    """A SPARQL request is refused before it runs (SERVICE, LOAD, remote dataset, syntax)."""

    code = "input.query"
    title = "query refused"


class UpdateRefusedError(QueryRejectedError):
    """Any SPARQL Update: the endpoint is read-only."""

    code = "input.query.update"
    title = "the endpoint is read-only"


class PrefetchMissingError(InputError):
    """A CDS Hooks call lacks a prefetch key the service requires, and no FHIR server is queried instead."""

    code = "input.prefetch-missing"
    title = "required prefetch missing"


class AuthenticationError(InputError):
    """The caller's credentials are missing or do not verify."""

    code = "input.authentication"
    title = "authentication required"


class ConfigError(InputError):
    """A setting is invalid: the server refuses to start rather than run unsafely."""

    code = "input.config"
    title = "invalid setting"


# --- knowledge: the ontology sources -----------------------------------------------------------


class KnowledgeError(TherapyKGError):
    """The ontology sources cannot be built into a release."""

    code = "knowledge"
    title = "the knowledge cannot be built"


class SourceFileError(KnowledgeError):
    """An ontology, shape, mapping or query file cannot be read or parsed."""

    code = "knowledge.source-file"
    title = "unreadable source file"

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class ShapeViolationError(KnowledgeError):
    """SHACL validation failed; `violations` holds (focus node, shape/path, message) triples."""

    code = "knowledge.shape"
    title = "SHACL violation"

    def __init__(self, violations: list[tuple[str, str, str]]) -> None:
        self.violations = violations
        lines = [f"  {focus}: {shape}: {message}" for focus, shape, message in violations]
        super().__init__(f"{len(violations)} SHACL violation(s):\n" + "\n".join(lines))


class ReasoningError(KnowledgeError):
    """The DL reasoner found the ontology inconsistent or a class unsatisfiable."""

    code = "knowledge.inconsistent"
    title = "inconsistent ontology"

    def __init__(self, message: str, iris: list[str] | None = None) -> None:
        self.iris = iris or []
        super().__init__(message + (": " + ", ".join(self.iris) if self.iris else ""))


class QualityCheckError(KnowledgeError):
    """`therapy-kg check` found problems; `problems` lists them as readable lines."""

    code = "knowledge.quality"
    title = "quality check failed"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} quality problem(s):\n" + "\n".join("  " + p for p in problems))


# --- store --------------------------------------------------------------------------------------


class StoreError(TherapyKGError):
    """The graph store, or another service therapy-kg calls, failed to answer."""

    code = "store"
    title = "the graph store failed to answer"


class ClientGoneError(StoreError):
    """The client disconnected while its query ran; the work was stopped."""

    code = "store.client-gone"
    title = "the client went away"


class StoreUnavailableError(StoreError):
    """The SPARQL store cannot be reached, failed (5xx) or answered something that is not SPARQL: wait and retry."""

    code = "store.unavailable"
    title = "the graph store is unavailable"


class KeysUnavailableError(StoreError):
    """A CDS client's signing keys (its JWK Set) could not be fetched, so its token cannot be checked."""

    code = "store.keys-unavailable"
    title = "the client's signing keys are unavailable"


class KnowledgeUnavailableError(StoreError):
    """The store does not hold the release the service answers with (missing, partial, another version): every
    answer that rests on the graph is refused rather than given as "nothing applies"."""

    code = "store.knowledge-unavailable"
    title = "the graph store does not hold the expected release"


# --- reasoner -----------------------------------------------------------------------------------


class ReasonerError(TherapyKGError):
    """The DL reasoner could not give a complete answer."""

    code = "reasoner"
    title = "reasoner error"


class ReasonerUnavailableError(ReasonerError):
    """Java is missing, the reasoner crashed, answered incompletely or ran out of its time or memory."""

    code = "reasoner.unavailable"
    title = "the DL reasoner is unavailable"


# --- limits -------------------------------------------------------------------------------------


class LimitError(TherapyKGError):
    """A configured limit refused or stopped the work; `retry_after` (seconds) when waiting helps."""

    code = "limit"
    title = "limit reached"


class QueryTimeoutError(LimitError):
    """A query or evaluation ran past its time limit and was cancelled."""

    code = "limit.timeout"
    title = "time limit reached"


class OverloadedError(LimitError):
    """Every place of a pool is taken, or the expected wait is too long: refused at once."""

    code = "limit.overloaded"
    title = "the server is busy"


class BodyTooLargeError(LimitError):
    """The request body is larger than the configured maximum."""

    code = "limit.body-size"
    title = "request body too large"


class BodyTimeoutError(LimitError):
    """The request body did not arrive within the configured time."""

    code = "limit.body-time"
    title = "request body too slow"


class InputShapeLimitError(LimitError):
    """The input is nested too deeply or holds too many members for the configured limits."""

    code = "limit.input-shape"
    title = "input too complex"


class MemoryLimitError(LimitError):
    """The work needed more memory than the ceiling of its process and was stopped."""

    code = "limit.memory"
    title = "memory limit reached"


class AnswerTooLargeError(LimitError):
    """An answer is larger than the configured maximum (a SPARQL result, a remote reply)."""

    code = "limit.answer-size"
    title = "answer too large"


def error_classes() -> dict[str, type[TherapyKGError]]:
    """Every error class by its code (the catalogue the API serves and the CLI documents)."""
    found: dict[str, type[TherapyKGError]] = {}
    pending: list[type[TherapyKGError]] = [TherapyKGError]
    while pending:
        cls = pending.pop()
        if "code" in vars(cls):  # a subclass that keeps its parent's code is not a kind of its own
            found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return dict(sorted(found.items()))


#: The CLI's exit status per branch (0 success, 1 a check that found problems, 2 bad arguments).
EXIT_CODES = {"input": 2, "knowledge": 3, "store": 4, "reasoner": 5, "limit": 6}


def exit_code(error: TherapyKGError) -> int:
    """The process exit status for `error`: by its branch, 1 for an unknown one.

    >>> exit_code(PatientInputError("age", "expected a number"))
    2
    >>> exit_code(ReasonerUnavailableError("no java on the PATH"))
    5
    """
    return EXIT_CODES.get(error.code.split(".")[0], 1)
