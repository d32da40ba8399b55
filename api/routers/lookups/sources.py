"""`/sources`: the seed's numbered sources, and one source with its verified quotes and citing statements."""

from __future__ import annotations

from collections import defaultdict
from typing import TypeVar

from fastapi import APIRouter, Path

from api.deps import ServiceDep, StoreDep
from api.routers.lookups.models import BAD_INPUT, NOT_FOUND, CitingStatementOut, SourceDetail, SourceSummary
from api.routers.lookups.rows import Refs, Row, kind_name, local_name, refs_for, select, sorted_terms, to_iri
from kg.errors import NotFoundError

router = APIRouter(tags=["lookups"])
S = TypeVar("S", bound=SourceSummary)


def _source_summary(iri: str, rows: list[Row], refs: Refs, model: type[S], **extra: object) -> S:
    """The fields every source answer has, in `model` (the summary, or the detail with `extra`)."""
    first = rows[0]
    kinds = [refs.term(r["other"], r.get("otherLabel")) for r in rows if r.get("detail") == "kind"]
    organizations = {
        r["other"]: refs.term(r["other"], r.get("otherLabel")) for r in rows if r.get("detail") == "organization"
    }
    return model(
        curie=refs.terms.compress(iri),
        iri=iri,
        label=first.get("label") or local_name(iri),
        reference=int(first["number"]),
        definition=first.get("definition"),
        comment=first.get("comment"),
        kind=kinds[0] if kinds else None,
        organizations=sorted_terms(organizations),
        **extra,
    )


@router.get(
    "/sources",
    response_model=list[SourceSummary],
    summary="The seed's numbered sources: label, reference number, kind, organizations",
)
def list_sources(store: StoreDep, service: ServiceDep) -> list[SourceSummary]:
    refs = refs_for(service)
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in select(store, "sources"):
        grouped[row["source"]].append(row)
    summaries = [_source_summary(iri, rows, refs, SourceSummary) for iri, rows in grouped.items()]
    return sorted(summaries, key=lambda s: (s.reference, s.curie))


@router.get(
    "/sources/{id:path}",
    response_model=SourceDetail,
    responses={**NOT_FOUND, **BAD_INPUT},
    summary="One source: what is known of it, verified quotes and the statements citing it",
)
def get_source(
    store: StoreDep,
    service: ServiceDep,
    source_id: str = Path(alias="id", description="`Source1`, `tkg:Source1` or the full IRI", examples=["Source2"]),
) -> SourceDetail:
    refs = refs_for(service)
    iri = to_iri(source_id if ":" in source_id else f"tkg:{source_id}", "id", refs.terms)
    rows = select(store, "source", source=iri)
    if not rows:
        raise NotFoundError(f"the graph has no source {refs.terms.compress(iri)}; see GET /sources")
    quotes = {
        r["other"]: refs.quote(r["other"], r["text"], r.get("origin"), iri) for r in rows if r.get("detail") == "quote"
    }
    statements = {
        r["other"]: CitingStatementOut(
            statement=refs.terms.compress(r["other"]),
            iri=r["other"],
            kind=kind_name(r["kind"]),
            label=r.get("otherLabel") or local_name(r["other"]),
            claim=r["claim"],
        )
        for r in rows
        if r.get("detail") == "statement"
    }
    return _source_summary(
        iri,
        rows,
        refs,
        SourceDetail,
        quotes=sorted(quotes.values(), key=lambda q: q.quote),
        statements=sorted(statements.values(), key=lambda s: s.statement),
    )
