"""Run the HermiT DL reasoner bundled with owlready2 on one owlready2 `World`, bounded and clean.

owlready2's own `sync_reasoner_hermit` has no time limit, reads its heap size from a module
global, and leaves its temporary N-Triples file behind when Java fails. This module keeps the
same reasoner and the same World, but runs Java with an explicit timeout and heap bound inside a
private temporary directory that is always removed, and returns the inferences as plain data.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import owlready2
from owlready2 import World
from owlready2 import reasoning as _owlready_reasoning

from kg.errors import ReasonerUnavailableError, ReasoningError

OWL_NOTHING = "http://www.w3.org/2002/07/owl#Nothing"
OWL_THING = "http://www.w3.org/2002/07/owl#Thing"
_RESULT = re.compile(r"([A-Za-z]+)\( ((?:<[^>]+>\s*)+)\)")
#: HermiT's property hierarchy over inverse properties (printed once a class uses an inverse): an answer line
#: the engines do not read, but a line of HermiT's answer all the same
_INVERSE_PROPERTY_RESULT = re.compile(
    r"(?:SubObjectPropertyOf|EquivalentObjectProperties)\((?: (?:<[^>]+>|ObjectInverseOf\( <[^>]+> \)))+ \)"
)


@dataclass(frozen=True)
class HermitBounds:
    """Time (seconds) and Java heap (MiB) granted to one reasoner run."""

    timeout_s: float = 120.0
    memory_mb: int = 1024


@dataclass
class Inferences:
    """What HermiT printed, as IRIs: direct superclasses, equivalences, direct types."""

    superclasses: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    equivalents: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    types: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    named: set[str] = field(default_factory=set)

    def unsatisfiable(self) -> list[str]:
        """Named classes equivalent to owl:Nothing."""
        return sorted(c for c, eq in self.equivalents.items() if OWL_NOTHING in eq and c != OWL_NOTHING)

    def ancestors(self, cls: str) -> set[str]:
        """All named superclasses and equivalents of `cls`, itself included."""
        seen = {cls}
        stack = [cls]
        while stack:
            current = stack.pop()
            for nxt in self.superclasses.get(current, set()) | self.equivalents.get(current, set()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def all_types(self, individual: str) -> set[str]:
        """Every named class an individual belongs to (its direct types closed upwards)."""
        result: set[str] = set()
        for t in self.types.get(individual, set()):
            result |= self.ancestors(t)
        return result


def java_executable() -> str:
    """The Java binary owlready2 would use, or a clear error when there is none."""
    configured: str = owlready2.JAVA_EXE
    java = configured if os.path.isabs(configured) else shutil.which(configured)
    if not java or not os.path.exists(java):
        raise ReasonerUnavailableError(
            "Java was not found (needed by the HermiT reasoner): install a Java runtime "
            "(e.g. Debian's default-jre-headless) or put `java` on the PATH"
        )
    return java


def parse_output(output: str) -> Inferences:
    """Parse HermiT's functional-syntax answer lines into `Inferences`; a line of any other shape means
    the output is not HermiT's answer (ReasonerUnavailableError), never a partial answer.

    >>> inf = parse_output("SubClassOf( <http://x/A> <http://x/B> )\\nType( <http://x/i> <http://x/A> )")
    >>> sorted(inf.all_types("http://x/i"))
    ['http://x/A', 'http://x/B']
    >>> inverse = "SubObjectPropertyOf( ObjectInverseOf( <http://x/p> ) ObjectInverseOf( <http://x/q> ) )"
    >>> sorted(parse_output(inverse + "\\nType( <http://x/i> <http://x/A> )").types)
    ['http://x/i']
    >>> parse_output("Type( <http://x/i> <http://x/A> )\\nSegmentation fault")
    Traceback (most recent call last):
    kg.errors.ReasonerUnavailableError: the HermiT reasoner printed something that is not a result (line 2)
    """
    inferences = Inferences()
    for number, line in enumerate(output.splitlines(), start=1):
        if not line.strip():
            continue
        match = _RESULT.fullmatch(line)
        if match is None and _INVERSE_PROPERTY_RESULT.fullmatch(line):
            continue
        if match is None:
            raise ReasonerUnavailableError(
                f"the HermiT reasoner printed something that is not a result (line {number})"
            )
        relation, iri_text = match.groups()
        iris = iri_text.strip()[1:-1].split("> <")
        inferences.named.update(iris)
        if relation == "SubClassOf" and len(iris) == 2:
            if iris[1] != OWL_THING:
                inferences.superclasses[iris[0]].add(iris[1])
        elif relation == "EquivalentClasses":
            for a in iris:
                inferences.equivalents[a].update(b for b in iris if b != a)
        elif relation == "Type" and len(iris) == 2:
            inferences.types[iris[0]].add(iris[1])
    return inferences


def classify(world: World, bounds: HermitBounds = HermitBounds(), *, realise: bool = True) -> Inferences:
    """Classify every ontology of `world` and, with `realise`, realise its individuals with HermiT.

    Without `realise` the answer has no types: the build needs the class hierarchy and the consistency check
    only, and realising the statement nodes was nine tenths of its reasoning time with 100 answers (quadratic).

    Raises ReasoningError when the ontology is inconsistent, ReasonerUnavailableError when Java is
    missing, fails, exceeds the bounds or prints what is not HermiT's answer. The temporary copy of the world
    never outlives the call.
    """
    java = java_executable()
    with tempfile.TemporaryDirectory(prefix="tkg-hermit-") as tmp:
        path = Path(tmp) / "world.nt"
        with path.open("wb") as f:
            world.save(f, format="ntriples", filter=lambda graph, s, p, o, d: p != owlready2.owl_imports)
        command = [
            java,
            f"-Xmx{bounds.memory_mb}M",
            "-cp",
            _owlready_reasoning._HERMIT_CLASSPATH,
            "org.semanticweb.HermiT.cli.CommandLine",
            "-c",
            "-O",
            "-D",
            *(["-I"] if realise else []),
            path.as_uri(),
        ]
        try:
            completed = subprocess.run(command, capture_output=True, timeout=bounds.timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReasonerUnavailableError(f"the HermiT reasoner did not finish within {bounds.timeout_s:g} s") from exc
        except OSError as exc:
            raise ReasonerUnavailableError(f"Java could not be started: {exc.strerror}") from exc
    output = completed.stdout.decode("utf-8", "replace").replace("\r", "")
    errors = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        if "Inconsistent ontology" in output + errors or "InconsistentOntologyException" in errors:
            raise ReasoningError("the ontology is inconsistent (HermiT found no model)")
        if "OutOfMemoryError" in errors:
            raise ReasonerUnavailableError(f"the HermiT reasoner ran out of its {bounds.memory_mb} MiB heap")
        if completed.returncode < 0:
            try:
                name = signal.Signals(-completed.returncode).name
            except ValueError:
                name = str(-completed.returncode)
            raise ReasonerUnavailableError(f"the HermiT reasoner was killed by signal {name}")
        last = errors.strip().splitlines()[-1] if errors.strip() else f"exit code {completed.returncode}"
        raise ReasonerUnavailableError(f"the HermiT reasoner failed: {last}")
    return parse_output(output)
