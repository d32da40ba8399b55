"""CDS Hooks 2.0 for therapy-kg: discovery, the patient-view and order-select services, and cards.

- `models`: the request, card and discovery models of the CDS Hooks 2.0 specification;
- `prefetch`: the prefetch templates and the FHIR Bundle built from what a client prefetched;
- `orders`: the draft orders of order-select mapped to the graph's interventions;
- `cards`: evaluation → cards, pure functions;
- `services`: the two services, each a definition and a handler, looked up by id.

The services never call the client's FHIR server: required prefetch that is missing gets 412.
"""

from __future__ import annotations


def member_path(prefix: str, loc: tuple) -> str:
    """A JSON member path as the error messages write it: `context.selections[0]`."""
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
