"""Lookups: conditions, interventions, sources, codes and the therapy ladder.

Every route runs a named query from `queries/api/` through the store dependency, so it answers the
same on the embedded store and on a remote SPARQL endpoint. Request values reach SPARQL as bound RDF
terms; a malformed CURIE or IRI gets 422 naming the parameter, a term the graph does not hold 404.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

import pyoxigraph as ox
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import ServiceDep, StoreDep
from api.errors import Problem
from kg.errors import InvalidRequestError, NotFoundError
from kg.knowledge import KINDS
from kg.store import Store
from kg.store.queries import named_query
from kg.store.terms import TKG, TermResolver

router = APIRouter(tags=["lookups"])

#: the category classes a term can fall under, and what the routes call them
CATEGORIES = {TKG + "Condition": "condition", TKG + "Intervention": "intervention", TKG + "Finding": "finding"}
_ROUTES = {"condition": "/conditions", "intervention": "/interventions"}
_RELATIONS = ("self", "inherited", "narrower")
_TERM_LINKS = {
    TKG + "aboutCondition": "conditions",
    TKG + "aboutIntervention": "interventions",
    TKG + "aboutPopulation": "populations",
    TKG + "preferredIntervention": "preferred",
    TKG + "requiresFinding": "requires_findings",
}
_LINE_LINKS = {TKG + "lineOfTherapy": "line", TKG + "requiresPriorLine": "requires_prior_line"}

Relation = Literal["self", "inherited", "narrower"]


# ---------------------------------------------------------------------------------------- models
_NOT_FOUND = {404: {"model": Problem, "description": "The graph holds no such term"}}
_BAD_INPUT = {
    422: {
        "model": Problem,
        "description": "A malformed CURIE or IRI, or an unknown prefix; `field` names the parameter",
    }
}


class TermRef(BaseModel):
    curie: str
    iri: str
    label: str


class CodeOut(BaseModel):
    system: str | None = Field(description="FHIR system URI of the code system (None if no code system covers it)")
    code: str
    iri: str = Field(description="The code as an IRI, as it is in the graph")
    match: Literal["exactMatch", "closeMatch"] = Field(description="The SKOS mapping predicate")


class TermSummary(TermRef):
    category: Literal["condition", "intervention", "finding"]
    definition: str | None
    parents: list[TermRef] = Field(description="Direct named superclasses")
    codes: list[CodeOut]


class SourceRefOut(BaseModel):
    source: str = Field(description="CURIE of the source")
    iri: str
    label: str
    reference: int = Field(description="The number by which the seed text cites it")


class QuoteOut(BaseModel):
    quote: str
    iri: str
    text: str = Field(description="A sentence verified verbatim in the source document")
    origin: str | None = Field(description="Where the sentence was read")
    source: str = Field(description="CURIE of the source it was read in")


class LineRef(BaseModel):
    line: str
    iri: str
    rank: int | None
    label: str


class StatementOut(BaseModel):
    statement: str = Field(description="CURIE of the statement")
    iri: str
    kind: str = Field(
        description="recommendation, contraindication, not-indicated, caution, discontinuation-caution, "
        "dosing, monitoring or evidence"
    )
    label: str
    claim: str = Field(description="The exact claim text of the seed")
    relation: Relation = Field(
        description="`self`: about the term itself; `inherited`: about one of its ancestors; "
        "`narrower`: about one of its descendants"
    )
    via: list[TermRef] = Field(description="The term(s) the statement names that relate it to the requested term")
    conditions: list[TermRef]
    interventions: list[TermRef]
    populations: list[TermRef]
    preferred: list[TermRef] = Field(description="Interventions the statement prefers")
    requires_findings: list[TermRef]
    line: LineRef | None = Field(description="The line of therapy a recommendation places its options at")
    requires_prior_line: LineRef | None
    sources: list[SourceRefOut]
    quotes: list[QuoteOut]


class TermDetail(TermSummary):
    children: list[TermRef] = Field(description="Direct named subclasses")
    statements: list[StatementOut] = Field(
        description="Statements about the term (`self`), inherited from its "
        "ancestors, and about its descendants (`narrower`)"
    )


class SourceSummary(TermRef):
    reference: int = Field(description="The number by which the seed text cites the source")
    definition: str | None
    comment: str | None
    kind: TermRef | None = Field(description="guideline, drug label or research evidence")
    organizations: list[TermRef]


class CitingStatementOut(BaseModel):
    statement: str
    iri: str
    kind: str
    label: str
    claim: str


class SourceDetail(SourceSummary):
    quotes: list[QuoteOut]
    statements: list[CitingStatementOut] = Field(description="The statements citing this source")


class CodeMatchOut(TermRef):
    category: Literal["condition", "intervention", "finding"] | None
    match: Literal["exactMatch", "closeMatch"]
    code: str = Field(description="The code that matched: the requested one or, in a hierarchical system, its parent")
    note: str | None = None


class LookupOut(BaseModel):
    system: str
    code: str
    matches: list[CodeMatchOut]


class OptionOut(BaseModel):
    intervention: str = Field(description="CURIE of the intervention")
    iri: str
    label: str
    preferred: bool = Field(description="A recommendation at this line names it as the preferred option")
    conditions: list[TermRef] = Field(description="The conditions whose recommendations place it at this line")
    recommendations: list[str] = Field(description="CURIEs of those recommendations")


class RecommendationOut(BaseModel):
    statement: str
    iri: str
    kind: str
    label: str
    claim: str
    conditions: list[TermRef] = Field(description="The condition(s) the recommendation is about")
    inherited: bool = Field(description="True when it is about a parent of the requested condition")
    options: list[str] = Field(description="CURIEs of the interventions it places at this line")
    preferred: list[str] = Field(description="CURIEs of the options it prefers")
    requires_prior_line: LineRef | None = Field(description="A line whose options must have been initiated first")
    requires_findings: list[TermRef] = Field(description="Findings the patient must have")
    sources: list[SourceRefOut]


class TherapyLineOut(BaseModel):
    rank: int
    line: str
    iri: str
    label: str
    options: list[OptionOut]
    recommendations: list[RecommendationOut]


class TherapyLadderOut(BaseModel):
    condition: TermRef
    lines: list[TherapyLineOut] = Field(
        description="Empty when no recommendation places an option on a line for the condition or its parents"
    )
    other_statements: list[StatementOut] = Field(
        description="The other statements about the condition or its parents (non-indications, contraindications, "
        "cautions, evidence): why an option is or is not on the ladder"
    )
    narrower_conditions: list[TermRef] = Field(
        description="More specific conditions with recommendations of their own: ask for their ladder"
    )


# ---------------------------------------------------------------------------------------- helpers
Row = dict[str, str | None]


def select(store: Store, name: str, **values: str) -> list[Row]:
    """Run the SELECT query `queries/api/<name>.rq` with full-IRI or plain values; rows of term values."""
    result = named_query(f"api/{name}").run(store, values)
    variables = [v.value for v in result.variables]
    return [{v: (None if s[v] is None else s[v].value) for v in variables} for s in result]


def to_iri(value: str, field: str, terms: TermResolver) -> str:
    """Expand a CURIE or IRI, and check it is a valid IRI: anything else is a 422 naming `field`."""
    try:
        iri = terms.expand(value, field=field)  # a PatientInputError for an unknown prefix
        ox.NamedNode(iri)
    except ValueError:  # not a valid IRI (e.g. a space in it)
        raise InvalidRequestError.at(field, f"{value[:100]!r} is not a valid CURIE or IRI") from None
    return iri


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


class _Refs:
    """Builds the small output objects from IRIs and labels."""

    def __init__(self, terms: TermResolver, systems_by_prefix: dict) -> None:
        self.terms = terms
        self.systems = sorted(systems_by_prefix.values(), key=lambda cs: -len(cs.uri_prefix))

    def term(self, iri: str, label: str | None) -> TermRef:
        return TermRef(curie=self.terms.compress(iri), iri=iri, label=label or _local(iri))

    def code(self, iri: str, match: str) -> CodeOut:
        for cs in self.systems:
            if iri.startswith(cs.uri_prefix):
                code = iri.removeprefix(cs.uri_prefix)
                return CodeOut(system=cs.fhir_system, code=code, iri=iri, match=_local(match))
        return CodeOut(system=None, code=iri, iri=iri, match=_local(match))

    def source(self, iri: str, label: str | None, number: str) -> SourceRefOut:
        return SourceRefOut(source=self.terms.compress(iri), iri=iri, label=label or _local(iri), reference=int(number))

    def line(self, iri: str, rank: str | None, label: str | None) -> LineRef:
        return LineRef(
            line=self.terms.compress(iri), iri=iri, rank=int(rank) if rank else None, label=label or _local(iri)
        )

    def quote(self, iri: str, text: str, origin: str | None, source: str) -> QuoteOut:
        return QuoteOut(
            quote=self.terms.compress(iri), iri=iri, text=text, origin=origin, source=self.terms.compress(source)
        )


def _refs(service) -> _Refs:
    return _Refs(service.terms, service.resolver.systems_by_prefix)


def _kind(iri: str) -> str:
    return KINDS.get(iri, _local(iri).lower())


def _sorted_terms(refs: dict[str, TermRef]) -> list[TermRef]:
    return sorted(refs.values(), key=lambda t: t.curie)


def _statements(rows: list[Row], refs: _Refs) -> list[StatementOut]:
    """Group the rows of `term-statements.rq` into one object per statement, sorted by relation then CURIE."""
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["statement"]].append(row)
    out = []
    for iri, group in grouped.items():
        first = group[0]
        relation = min((r["relation"] for r in group), key=_RELATIONS.index)
        via = {r["via"]: refs.term(r["via"], r["viaLabel"]) for r in group if r["relation"] == relation}
        links: dict[str, dict[str, TermRef]] = defaultdict(dict)
        lines: dict[str, LineRef] = {}
        sources: dict[str, SourceRefOut] = {}
        quotes: dict[str, QuoteOut] = {}
        for r in group:
            if r["detail"] == "source":
                sources[r["source"]] = refs.source(r["source"], r["sourceLabel"], r["sourceNumber"])
            elif r["detail"] == "quote":
                quotes[r["quote"]] = refs.quote(r["quote"], r["quoteText"], r["quoteOrigin"], r["quoteSource"])
            elif r["link"] in _LINE_LINKS:
                lines[_LINE_LINKS[r["link"]]] = refs.line(r["target"], r["rank"], r["targetLabel"])
            elif r["link"] in _TERM_LINKS:
                links[_TERM_LINKS[r["link"]]][r["target"]] = refs.term(r["target"], r["targetLabel"])
        out.append(
            StatementOut(
                statement=refs.terms.compress(iri),
                iri=iri,
                kind=_kind(first["kind"]),
                label=first["label"] or _local(iri),
                claim=first["claim"],
                relation=relation,
                via=_sorted_terms(via),
                **{name: _sorted_terms(links[name]) for name in _TERM_LINKS.values()},
                line=lines.get("line"),
                requires_prior_line=lines.get("requires_prior_line"),
                sources=sorted(sources.values(), key=lambda s: (s.reference, s.source)),
                quotes=sorted(quotes.values(), key=lambda q: q.quote),
            )
        )
    return sorted(out, key=lambda s: (_RELATIONS.index(s.relation), s.statement))


def _term_lists(rows: list[Row], refs: _Refs) -> tuple[dict[str, TermRef], dict[str, TermRef], list[CodeOut]]:
    parents: dict[str, TermRef] = {}
    children: dict[str, TermRef] = {}
    codes: dict[tuple[str, str], CodeOut] = {}
    for r in rows:
        if r["detail"] == "parent":
            parents[r["other"]] = refs.term(r["other"], r["otherLabel"])
        elif r["detail"] == "child":
            children[r["other"]] = refs.term(r["other"], r["otherLabel"])
        elif r["detail"] == "code":
            codes[(r["code"], r["match"])] = refs.code(r["code"], r["match"])
    return parents, children, sorted(codes.values(), key=lambda c: (c.system or "", c.code, c.match))


def _term_detail(store: Store, refs: _Refs, value: str, category: str, field: str) -> TermDetail:
    iri = to_iri(value, field, refs.terms)
    rows = select(store, "term", term=iri)
    found = {CATEGORIES[r["category"]] for r in rows}
    if category not in found:
        curie = refs.terms.compress(iri)
        message = f"the graph has no {category} {curie}"
        for other in sorted(found):
            message += f"; its category is {other}" + (f" (see {_ROUTES[other]}/{curie})" if other in _ROUTES else "")
        raise NotFoundError(message)
    rows = [r for r in rows if CATEGORIES[r["category"]] == category]
    parents, children, codes = _term_lists(rows, refs)
    return TermDetail(
        curie=refs.terms.compress(iri),
        iri=iri,
        label=rows[0]["label"] or _local(iri),
        category=category,
        definition=rows[0]["definition"],
        parents=_sorted_terms(parents),
        children=_sorted_terms(children),
        codes=codes,
        statements=_statements(select(store, "term-statements", term=iri), refs),
    )


def _term_list(store: Store, refs: _Refs, category: str) -> list[TermSummary]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in select(store, "terms", category=category):
        grouped[row["term"]].append(row)
    out = []
    for iri, rows in grouped.items():
        parents, _, codes = _term_lists(rows, refs)
        out.append(
            TermSummary(
                curie=refs.terms.compress(iri),
                iri=iri,
                label=rows[0]["label"] or _local(iri),
                category=CATEGORIES[category],
                definition=rows[0]["definition"],
                parents=_sorted_terms(parents),
                codes=codes,
            )
        )
    return sorted(out, key=lambda t: t.curie)


# ---------------------------------------------------------------------------------------- routes
_CURIE = Path(
    description="A CURIE such as `tkg:Spasticity`, or a full (URL-encoded) IRI",
    examples=["tkg:Spasticity", "tkg:OralBaclofen"],
)


@router.get(
    "/conditions", response_model=list[TermSummary], summary="Every condition with label, definition, parents and codes"
)
def list_conditions(store: StoreDep, service: ServiceDep) -> list[TermSummary]:
    return _term_list(store, _refs(service), TKG + "Condition")


@router.get(
    "/conditions/{curie:path}",
    response_model=TermDetail,
    responses={**_NOT_FOUND, **_BAD_INPUT},
    summary="One condition: hierarchy, codes and every statement about it, its parents or its subtypes",
)
def get_condition(store: StoreDep, service: ServiceDep, curie: str = _CURIE) -> TermDetail:
    return _term_detail(store, _refs(service), curie, "condition", "curie")


@router.get(
    "/interventions",
    response_model=list[TermSummary],
    summary="Every intervention with label, definition, parents and codes",
)
def list_interventions(store: StoreDep, service: ServiceDep) -> list[TermSummary]:
    return _term_list(store, _refs(service), TKG + "Intervention")


@router.get(
    "/interventions/{curie:path}",
    response_model=TermDetail,
    responses={**_NOT_FOUND, **_BAD_INPUT},
    summary="One intervention: hierarchy, codes and every statement about it, its parents or its subtypes",
)
def get_intervention(store: StoreDep, service: ServiceDep, curie: str = _CURIE) -> TermDetail:
    return _term_detail(store, _refs(service), curie, "intervention", "curie")


def _source_summary(iri: str, rows: list[Row], refs: _Refs, model=SourceSummary, **extra) -> SourceSummary:
    first = rows[0]
    kinds = [refs.term(r["other"], r["otherLabel"]) for r in rows if r["detail"] == "kind"]
    organizations = {r["other"]: refs.term(r["other"], r["otherLabel"]) for r in rows if r["detail"] == "organization"}
    return model(
        curie=refs.terms.compress(iri),
        iri=iri,
        label=first["label"] or _local(iri),
        reference=int(first["number"]),
        definition=first["definition"],
        comment=first["comment"],
        kind=kinds[0] if kinds else None,
        organizations=_sorted_terms(organizations),
        **extra,
    )


@router.get(
    "/sources",
    response_model=list[SourceSummary],
    summary="The seed's numbered sources: label, reference number, kind, organizations",
)
def list_sources(store: StoreDep, service: ServiceDep) -> list[SourceSummary]:
    refs = _refs(service)
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in select(store, "sources"):
        grouped[row["source"]].append(row)
    summaries = [_source_summary(iri, rows, refs) for iri, rows in grouped.items()]
    return sorted(summaries, key=lambda s: (s.reference, s.curie))


@router.get(
    "/sources/{id:path}",
    response_model=SourceDetail,
    responses={**_NOT_FOUND, **_BAD_INPUT},
    summary="One source: what is known of it, verified quotes and the statements citing it",
)
def get_source(
    store: StoreDep,
    service: ServiceDep,
    source_id: str = Path(alias="id", description="`Source1`, `tkg:Source1` or the full IRI", examples=["Source2"]),
) -> SourceDetail:
    refs = _refs(service)
    iri = to_iri(source_id if ":" in source_id else f"tkg:{source_id}", "id", refs.terms)
    rows = select(store, "source", source=iri)
    if not rows:
        raise NotFoundError(f"the graph has no source {refs.terms.compress(iri)}; see GET /sources")
    quotes = {r["other"]: refs.quote(r["other"], r["text"], r["origin"], iri) for r in rows if r["detail"] == "quote"}
    statements = {
        r["other"]: CitingStatementOut(
            statement=refs.terms.compress(r["other"]),
            iri=r["other"],
            kind=_kind(r["kind"]),
            label=r["otherLabel"] or _local(r["other"]),
            claim=r["claim"],
        )
        for r in rows
        if r["detail"] == "statement"
    }
    return _source_summary(
        iri,
        rows,
        refs,
        SourceDetail,
        quotes=sorted(quotes.values(), key=lambda q: q.quote),
        statements=sorted(statements.values(), key=lambda s: s.statement),
    )


@router.get(
    "/lookup",
    response_model=LookupOut,
    responses={
        404: {"model": Problem, "description": "No term of the graph maps to the code"},
        422: {
            "model": Problem,
            "description": "A code system the graph does not map, or a malformed code; `field` names it",
        },
    },
    summary="The term(s) a code maps to (SNOMED CT, ICD-10-CM, RxNorm, ATC), with the match type",
)
def lookup(
    store: StoreDep,
    service: ServiceDep,
    system: str = Query(description="FHIR code system URI", examples=["http://hl7.org/fhir/sid/icd-10-cm"]),
    code: str = Query(description="The code in that system", examples=["G35"]),
) -> LookupOut:
    refs = _refs(service)
    cs = service.resolver.systems.get(system)
    if cs is None:
        known = ", ".join(sorted(service.resolver.systems))
        raise InvalidRequestError.at(
            "system", f"code system {system[:200]!r} is not one the graph maps; use one of: {known}"
        )
    code = code.strip()
    if not code:
        raise InvalidRequestError.at("code", "a code is required")
    for candidate in cs.code_and_parents(code):  # ICD-10-CM G35.A falls under G35, ATC M03BX01 under M03BX
        iri = cs.uri_prefix + candidate
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise InvalidRequestError.at("code", f"{code[:100]!r} is not a valid {cs.name} code") from None
        rows = select(store, "code", code=iri)
        if rows:
            note = None if candidate == code else f"{code} resolved through its parent code {candidate}"
            matches = {
                (r["term"], r["match"]): CodeMatchOut(
                    **refs.term(r["term"], r["label"]).model_dump(),
                    category=CATEGORIES.get(r["category"] or ""),
                    match=_local(r["match"]),
                    code=candidate,
                    note=note,
                )
                for r in rows
            }
            ordered = sorted(matches.values(), key=lambda m: (m.curie, m.match))
            return LookupOut(system=system, code=code, matches=ordered)
    raise NotFoundError(f"{cs.name} code {code[:100]!r} maps to no term of the graph")


@router.get(
    "/therapy-lines",
    response_model=TherapyLadderOut,
    responses={**_NOT_FOUND, **_BAD_INPUT},
    summary="The therapy ladder for a condition: lines, options, recommendations, prerequisites, sources",
)
def therapy_lines(
    store: StoreDep,
    service: ServiceDep,
    condition: str = Query(description="A condition CURIE or IRI", examples=["tkg:GeneralizedSpasticity"]),
) -> TherapyLadderOut:
    refs = _refs(service)
    term = _term_detail(store, refs, condition, "condition", "condition")
    lines = _ladder(select(store, "therapy-lines", condition=term.iri), refs)
    on_ladder = {r.iri for line in lines for r in line.recommendations}
    others = [s for s in term.statements if s.relation != "narrower" and s.iri not in on_ladder]
    narrower = {v.iri: v for s in term.statements if s.relation == "narrower" and s.line is not None for v in s.via}
    return TherapyLadderOut(
        condition=TermRef(curie=term.curie, iri=term.iri, label=term.label),
        lines=lines,
        other_statements=others,
        narrower_conditions=_sorted_terms(narrower),
    )


def _ladder(rows: list[Row], refs: _Refs) -> list[TherapyLineOut]:
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
            if row["detail"] != "option":
                continue
            option = options.setdefault(
                row["intervention"],
                OptionOut(
                    intervention=refs.terms.compress(row["intervention"]),
                    iri=row["intervention"],
                    label=row["interventionLabel"] or _local(row["intervention"]),
                    preferred=False,
                    conditions=[],
                    recommendations=[],
                ),
            )
            option.preferred = option.preferred or row["preferred"] == "true"
            if row["condition"] not in {c.iri for c in option.conditions}:
                option.conditions = sorted(
                    [*option.conditions, refs.term(row["condition"], row["conditionLabel"])], key=lambda t: t.curie
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
                label=first["lineLabel"] or _local(line_iri),
                options=sorted(options.values(), key=lambda o: (not o.preferred, o.label.lower(), o.intervention)),
                recommendations=sorted(recommendations, key=lambda r: (r.inherited, r.statement)),
            )
        )
    return sorted(lines, key=lambda line: (line.rank, line.line))


def _recommendation(iri: str, rows: list[Row], refs: _Refs) -> RecommendationOut:
    first = rows[0]
    conditions = {r["condition"]: refs.term(r["condition"], r["conditionLabel"]) for r in rows}
    option_rows = [r for r in rows if r["detail"] == "option"]
    options = sorted({refs.terms.compress(r["intervention"]) for r in option_rows})
    preferred = sorted({refs.terms.compress(r["intervention"]) for r in option_rows if r["preferred"] == "true"})
    prior = [refs.line(r["priorLine"], r["priorRank"], r["priorLabel"]) for r in rows if r["detail"] == "prior-line"]
    findings = {r["finding"]: refs.term(r["finding"], r["findingLabel"]) for r in rows if r["detail"] == "finding"}
    sources = {
        r["source"]: refs.source(r["source"], r["sourceLabel"], r["sourceNumber"])
        for r in rows
        if r["detail"] == "source"
    }
    return RecommendationOut(
        statement=refs.terms.compress(iri),
        iri=iri,
        kind="recommendation",
        label=first["label"] or _local(iri),
        claim=first["claim"],
        conditions=_sorted_terms(conditions),
        inherited=all(r["inherited"] == "true" for r in rows),
        options=options,
        preferred=preferred,
        requires_prior_line=min(prior, key=lambda p: p.rank or 0) if prior else None,
        requires_findings=_sorted_terms(findings),
        sources=sorted(sources.values(), key=lambda s: (s.reference, s.source)),
    )
