"""The discovery entries of the CDS services: their wording is data (`ontology/cds-services.tsv`),
filled in from the graph, so what a service says it covers is what the graph holds.

Placeholders: `{conditions}` (the most general conditions options are given for or against),
`{interventions}` (the options the recommendations name, by line), `{drugs}` (the drugs with a code
mapping), `{assumed_routes}` (the graph's route assumptions for orders that state none) and
`{prefetch}` (what the client must send, from the prefetch templates).
"""

from __future__ import annotations

import csv
from functools import lru_cache

from api.cds.models import Service
from api.cds.prefetch import TEMPLATES
from kg.knowledge import CONDITION, Knowledge
from kg.resources import ontology_dir
from kg.service import TherapyKG
from kg.store.terms import TKG

SERVICES_FILE = "cds-services.tsv"
PHARMACOLOGICAL = TKG + "PharmacologicalIntervention"
TREATED_BY = ("recommendation", "not-indicated", "evidence")
PREFETCH_USAGE = (
    "Send the prefetch keys 'patient' and 'conditions' (required: the service has no access to the "
    "FHIR server and answers 412 without them); 'medications', 'medicationRequests' and 'procedures' "
    "make current and tried therapies known."
)


@lru_cache(maxsize=1)
def service_texts() -> dict[str, dict[str, str]]:
    """Service id → its hook, title, description and usage templates, as the file gives them."""
    with (ontology_dir() / SERVICES_FILE).open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle, delimiter="\t")}


def discovery(service: TherapyKG) -> list[Service]:
    """The discovery entries, their placeholders filled in from `service`'s knowledge."""
    values = _placeholders(service.knowledge)
    return [
        Service(
            id=service_id,
            hook=text["hook"],
            title=text["title"].format(**values),
            description=text["description"].format(**values),
            prefetch=TEMPLATES,
            usageRequirements=text["usage"].format(**values).strip(),
        )
        for service_id, text in service_texts().items()
    ]


def _placeholders(k: Knowledge) -> dict[str, str]:
    # what options are given for or against (recommendations, non-indications, evidence), not the coexisting
    # conditions of contraindications and cautions
    about = {c for s in k.statements if s.kind in TREATED_BY for c in s.conditions}
    general = sorted((c for c in about if not any(a in about for a in k.ancestors.get(c, ()) if a != c)), key=k.label)
    by_line: dict[str, int] = {}
    for s in k.statements:
        if s.kind == "recommendation" and s.line is not None:
            for i in s.interventions:
                by_line[i] = min(by_line.get(i, s.line), s.line)
    interventions = sorted(by_line, key=lambda i: (by_line[i], k.label(i)))
    mapped = {term for terms in k.codes.values() for term, _ in terms}
    drugs = sorted((t for t in mapped if k.is_a(t, PHARMACOLOGICAL)), key=k.label)
    routes = [
        f"An order for {k.label(drug)} that states no route is assessed by the {k.label(route)}, an assumption "
        "the graph states and explains."
        for drug, (route, _) in sorted(k.routes.assumed.items())
    ]
    return {
        "conditions": " and ".join(k.label(c) for c in general) if general else k.label(CONDITION),
        "interventions": ", ".join(k.label(i) for i in interventions),
        "drugs": ", ".join(k.label(d) for d in drugs),
        "assumed_routes": " ".join(routes),
        "prefetch": PREFETCH_USAGE,
    }
