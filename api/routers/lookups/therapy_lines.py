"""`/therapy-lines`: the therapy ladder of a condition, its lines, options, recommendations and sources."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Query

from api.deps import ServiceDep, StoreDep
from api.routers.lookups.models import (
    BAD_INPUT,
    NOT_FOUND,
    OptionOut,
    RecommendationOut,
    TermRef,
    TherapyLadderOut,
    TherapyLineOut,
)
from api.routers.lookups.rows import Refs, Row, local_name, refs_for, select, sorted_terms, term_detail

router = APIRouter(tags=["lookups"])


@router.get(
    "/therapy-lines",
    response_model=TherapyLadderOut,
    responses={**NOT_FOUND, **BAD_INPUT},
    summary="The therapy ladder for a condition: lines, options, recommendations, prerequisites, sources",
)
def therapy_lines(
    store: StoreDep,
    service: ServiceDep,
    condition: str = Query(description="A condition CURIE or IRI", examples=["tkg:GeneralizedSpasticity"]),
) -> TherapyLadderOut:
    refs = refs_for(service)
    term = term_detail(store, refs, condition, "condition", "condition")
    lines = _ladder(select(store, "therapy-lines", condition=term.iri), refs)
    on_ladder = {r.iri for line in lines for r in line.recommendations}
    others = [s for s in term.statements if s.relation != "narrower" and s.iri not in on_ladder]
    narrower = {v.iri: v for s in term.statements if s.relation == "narrower" and s.line is not None for v in s.via}
    return TherapyLadderOut(
        condition=TermRef(curie=term.curie, iri=term.iri, label=term.label),
        lines=lines,
        other_statements=others,
        narrower_conditions=sorted_terms(narrower),
    )


def _ladder(rows: list[Row], refs: Refs) -> list[TherapyLineOut]:
    by_line: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_line[row["line"]].append(row)
    lines = []
    for line_iri, line_rows in by_line.items():
        by_statement: dict[str, list[Row]] = defaultdict(list)
        for row in line_rows:
            by_statement[row["statement"]].append(row)
        recommendations = [_recommendation(iri, group, refs) for iri, group in by_statement.items()]
        options: dict[str, OptionOut] = {}
        for row in line_rows:
            if row.get("detail") != "option":
                continue
            option = options.setdefault(
                row["intervention"],
                OptionOut(
                    intervention=refs.terms.compress(row["intervention"]),
                    iri=row["intervention"],
                    label=row.get("interventionLabel") or local_name(row["intervention"]),
                    preferred=False,
                    conditions=[],
                    recommendations=[],
                ),
            )
            option.preferred = option.preferred or row.get("preferred") == "true"
            if row["condition"] not in {c.iri for c in option.conditions}:
                option.conditions = sorted(
                    [*option.conditions, refs.term(row["condition"], row.get("conditionLabel"))], key=lambda t: t.curie
                )
            statement = refs.terms.compress(row["statement"])
            if statement not in option.recommendations:
                option.recommendations = sorted([*option.recommendations, statement])
        first = line_rows[0]
        lines.append(
            TherapyLineOut(
                rank=int(first["rank"]),
                line=refs.terms.compress(line_iri),
                iri=line_iri,
                label=first.get("lineLabel") or local_name(line_iri),
                options=sorted(options.values(), key=lambda o: (not o.preferred, o.label.lower(), o.intervention)),
                recommendations=sorted(recommendations, key=lambda r: (r.inherited, r.statement)),
            )
        )
    return sorted(lines, key=lambda line: (line.rank, line.line))


def _recommendation(iri: str, rows: list[Row], refs: Refs) -> RecommendationOut:
    first = rows[0]
    conditions = {r["condition"]: refs.term(r["condition"], r.get("conditionLabel")) for r in rows}
    option_rows = [r for r in rows if r.get("detail") == "option"]
    options = sorted({refs.terms.compress(r["intervention"]) for r in option_rows})
    preferred = sorted({refs.terms.compress(r["intervention"]) for r in option_rows if r.get("preferred") == "true"})
    prior = [
        refs.line(r["priorLine"], r.get("priorRank"), r.get("priorLabel"))
        for r in rows
        if r.get("detail") == "prior-line"
    ]
    findings = {
        r["finding"]: refs.term(r["finding"], r.get("findingLabel")) for r in rows if r.get("detail") == "finding"
    }
    sources = {
        r["source"]: refs.source(r["source"], r.get("sourceLabel"), r["sourceNumber"])
        for r in rows
        if r.get("detail") == "source"
    }
    return RecommendationOut(
        statement=refs.terms.compress(iri),
        iri=iri,
        kind="recommendation",
        label=first.get("label") or local_name(iri),
        claim=first["claim"],
        conditions=sorted_terms(conditions),
        inherited=all(r.get("inherited") == "true" for r in rows),
        options=options,
        preferred=preferred,
        requires_prior_line=min(prior, key=lambda p: p.rank or 0) if prior else None,
        requires_findings=sorted_terms(findings),
        sources=sorted(sources.values(), key=lambda s: (s.reference, s.source)),
    )
