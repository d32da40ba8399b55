"""What every card builder shares: the card context (labels, links, the ids handed out) and the status words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from api.cds.feedback import Issued
from api.cds.models import Link
from kg.store.terms import TKG

TOPIC_SYSTEM = TKG + "cds/topic"

STATUS_TEXT = {
    "eligible": "eligible",
    "deferred": "deferred",
    "excluded": "excluded",
    "not-indicated": "not indicated",
    "undetermined": "undetermined",
}
STATUS_ORDER = ("eligible", "deferred", "undetermined", "not-indicated", "excluded")
EXCLUDING = ("excluded", "not-indicated")


@dataclass(frozen=True)
class CardContext:
    """What cards need beyond the evaluation; `base_url` None leaves out links to the API.

    `issued` collects the uuid of every card and suggestion built with this context, with what it
    rests on (`api.cds.feedback`): the uuids depend on the knowledge a card cites, not on the patient.
    """

    labels: Mapping[str, str] = field(default_factory=dict)  # CURIE → label
    pharmacological: frozenset[str] = frozenset()  # CURIEs of pharmacological interventions
    patient_id: str | None = None
    base_url: str | None = None
    issued: Issued = field(default_factory=lambda: Issued(""))

    def label(self, curie: str) -> str:
        return self.labels.get(curie) or curie.split(":", 1)[-1]

    def url(self, path: str) -> str | None:
        return None if self.base_url is None else self.base_url.rstrip("/") + path

    def source_url(self, curie: str) -> str | None:
        return self.url(f"/sources/{quote(curie, safe=':')}")

    def intervention_link(self, curie: str) -> Link | None:
        url = self.url(f"/interventions/{quote(curie, safe=':')}")
        return Link(label=f"therapy-kg: {self.label(curie)}", url=url, type="absolute") if url else None

    def therapy_lines_link(self, curie: str, label: str) -> Link | None:
        url = self.url(f"/therapy-lines?condition={quote(curie, safe=':')}")
        return Link(label=f"therapy-kg: therapy lines for {label}", url=url, type="absolute") if url else None
