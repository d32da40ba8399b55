"""The seed: the clinical answer the graph models (`ontology/seed.txt`, a byte-for-byte copy), and the rule
that every claim text is a verbatim span of it, its citation digits left out (SPEC §3: "… labeling provides",
not "… labeling 2 provides")."""

from __future__ import annotations

import re
from pathlib import Path

SEED_FILE = "seed.txt"
CLAIM_TEXT = "https://w3id.org/therapy-kg/claimText"
_NUMBERS = r"[1-6](?:,\s*[1-6])*"
#: A citation: reference numbers 1-6 after a space, followed by the end, a space or a comma, and not a dose
#: figure ("5 mg", "3-4 doses", "10%", "30-40 mg" are excluded by the look-arounds).
CITATION = re.compile(r"(?<=\s)(" + _NUMBERS + r")(?=$|[\s,])(?!\s*(?:mg|doses?|times|%)\b)")


def uncited(text: str) -> str:
    """`text` without its citation digits, as a claim text quotes it.

    >>> uncited("the FDA labeling 2 provides"), uncited("guidelines 1, 3, which"), uncited("5 mg up to 3 times")
    ('the FDA labeling provides', 'guidelines, which', '5 mg up to 3 times')
    """
    return re.sub(r"\s+" + CITATION.pattern.removeprefix("(?<=\\s)"), "", text)


def seed_text(ontology_dir: Path) -> str | None:
    """The seed as claim texts quote it (each line uncited), or None where the sources ship no seed."""
    path = ontology_dir / SEED_FILE
    if not path.is_file():
        return None
    return "\n".join(uncited(line) for line in path.read_text(encoding="utf-8").splitlines())
