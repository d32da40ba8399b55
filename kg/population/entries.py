"""FHIR resources validated once per text, not once per patient (issue 11 item 2).

Validating a patient's Bundle with fhir.resources is most of what reading it costs, and a population repeats
the same resources: the same Condition code and statuses, written the same way, in thousands of records (the
more so in canonical form, `kg.population.patterns`, where ids are renamed). The Bundle's entries are validated
independently of each other (an R4B Bundle has no rule across its entries), so each distinct resource text is
validated once, as a one-entry Bundle by `validate_bundle` itself, and a patient's Bundle is assembled from the
validated entries. A resource that is not valid on its own sends the patient to the whole-Bundle path, whose
error names the entry as `/evaluate` names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from fhir.resources.R4B.bundle import Bundle, BundleEntry

from kg.errors import PatientInputError
from kg.json_types import JsonObject
from kg.patient.fhir import MATERIALISED
from kg.patient.fhir_validate import validate_bundle

#: How many resource texts a process keeps validated: the most memory the models take (a few KiB each).
LIMIT = 8192

#: A validated entry, and the type and id of its resource when it is of a type not materialised (not read).
Validated = tuple[BundleEntry, JsonObject | None]


def bundle_json(texts: list[bytes]) -> bytes:
    """A collection Bundle of these resources (each one JSON text), in their order."""
    return (
        b'{"resourceType":"Bundle","type":"collection","entry":['
        + b",".join(b'{"resource":' + text + b"}" for text in texts)
        + b"]}"
    )


@dataclass
class ValidatedEntries:
    """The resources validated so far, by their exact text; None for a text not valid on its own."""

    known: dict[bytes, Validated | None] = field(default_factory=dict)

    def bundle(self, texts: list[bytes]) -> tuple[Bundle, dict[int, JsonObject]] | None:
        """The Bundle of these resources, validated as `validate_bundle` validates it, and its unread entries;
        None when one of them is not valid on its own."""
        entries: list[BundleEntry] = []
        unread: dict[int, JsonObject] = {}
        for index, text in enumerate(texts):
            validated = self.known[text] if text in self.known else self._validate(text)
            if validated is None:
                return None
            entry, kind = validated
            entries.append(entry)
            if kind is not None:
                unread[index] = kind
        return Bundle.model_construct(type="collection", entry=entries), unread

    def _validate(self, text: bytes) -> Validated | None:
        if len(self.known) >= LIMIT:  # memory stays flat however many distinct resources a population has
            self.known.clear()
        one = orjson.loads(bundle_json([text]))
        try:
            model, unread = validate_bundle(one, MATERIALISED)
        except PatientInputError:
            validated = None
        else:
            assert model.entry is not None  # one entry, validated
            validated = (model.entry[0], unread.get(0))
        self.known[text] = validated
        return validated
