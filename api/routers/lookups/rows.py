"""From the rows of the `queries/api/` queries to the response models: one place that knows their columns."""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox

from api.routers.lookups.models import (
    Category,
    CodeOut,
    LineRef,
    MatchKind,
    QuoteOut,
    Relation,
    SourceRefOut,
    StatementOut,
    TermDetail,
    TermRef,
    TermSummary,
)
from kg.errors import InvalidRequestError, NotFoundError, StoreError
from kg.knowledge import KINDS
from kg.store import Row, Store, rows, solutions
from kg.store.queries import named_query
from kg.store.terms import TKG, TermResolver

#: the category classes a term can fall under, and what the routes call them
CATEGORIES: dict[str, Category] = {
    TKG + "Condition": "condition",
    TKG + "Intervention": "intervention",
    TKG + "Finding": "finding",
}
#: The SKOS mapping predicates a code mapping may use, by their local names.
MATCHES: dict[str, MatchKind] = {"exactMatch": "exactMatch", "closeMatch": "closeMatch", "narrowMatch": "narrowMatch"}
_RELATION_NAMES: dict[str, Relation] = {"self": "self", "inherited": "inherited", "narrower": "narrower"}
_ROUTES = {"condition": "/conditions", "intervention": "/interventions"}
_RELATIONS = ("self", "inherited", "narrower")
_TERM_LINKS = {
    TKG + "aboutCondition": "conditions",
    TKG + "aboutIntervention": "interventions",
    TKG + "aboutPopulation": "populations",
    TKG + "preferredIntervention": "preferred",
    TKG + "requiresFinding": "requires_findings",
    TKG + "forIndication": "indications",
    TKG + "forIndicationDueTo": "indication_causes",
    TKG + "withCoexistingCondition": "coexisting_conditions",
    TKG + "indicationInDoubtWith": "in_doubt_with",
}
_LINE_LINKS = {TKG + "lineOfTherapy": "line", TKG + "requiresPriorLine": "requires_prior_line"}


def select(store: Store, name: str, **values: str) -> list[Row]:
    """Run the SELECT query `queries/api/<name>.rq` with full-IRI or plain values; rows of term values."""
    return list(rows(solutions(named_query(f"api/{name}").run(store, values))))


def to_iri(value: str, field: str, terms: TermResolver) -> str:
    """Expand a CURIE or IRI, and check it is a valid IRI: anything else is a 422 naming `field`."""
    try:
        iri = terms.expand(value, field=field)  # a PatientInputError for an unknown prefix
        ox.NamedNode(iri)
    except ValueError:  # not a valid IRI (e.g. a space in it)
        raise InvalidRequestError.at(field, f"{value[:100]!r} is not a valid CURIE or IRI") from None
    return iri


def local_name(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


class Refs:
    """Builds the small output objects from IRIs and labels."""

    def __init__(self, terms: TermResolver, systems_by_prefix: dict) -> None:
        self.terms = terms
        self.systems = sorted(systems_by_prefix.values(), key=lambda cs: -len(cs.uri_prefix))

    def term(self, iri: str, label: str | None) -> TermRef:
        return TermRef(curie=self.terms.compress(iri), iri=iri, label=label or local_name(iri))

    def code(self, iri: str, match: str) -> CodeOut:
        for cs in self.systems:
            if iri.startswith(cs.uri_prefix):
                code = iri.removeprefix(cs.uri_prefix)
                return CodeOut(system=cs.fhir_system, code=code, iri=iri, match=match_kind(match))
        return CodeOut(system=None, code=iri, iri=iri, match=match_kind(match))

    def source(self, iri: str, label: str | None, number: str) -> SourceRefOut:
        return SourceRefOut(
            source=self.terms.compress(iri), iri=iri, label=label or local_name(iri), reference=int(number)
        )

    def line(self, iri: str, rank: str | None, label: str | None) -> LineRef:
        return LineRef(
            line=self.terms.compress(iri), iri=iri, rank=int(rank) if rank else None, label=label or local_name(iri)
        )

    def quote(self, iri: str, text: str, origin: str | None, source: str) -> QuoteOut:
        return QuoteOut(
            quote=self.terms.compress(iri), iri=iri, text=text, origin=origin, source=self.terms.compress(source)
        )


def refs_for(service) -> Refs:
    return Refs(service.terms, service.resolver.systems_by_prefix)


def match_kind(iri: str) -> MatchKind:
    """The mapping predicate of a code mapping by its local name; a StoreError for one the API does not know."""
    name = local_name(iri)
    if name not in MATCHES:
        raise StoreError(f"a code mapping uses the predicate {name!r}, which the API does not describe")
    return MATCHES[name]


def kind_name(iri: str) -> str:
    return KINDS.get(iri, local_name(iri).lower())


def sorted_terms(refs: dict[str, TermRef]) -> list[TermRef]:
    return sorted(refs.values(), key=lambda t: t.curie)


def statements_of(rows: list[Row], refs: Refs) -> list[StatementOut]:
    """Group the rows of `term-statements.rq` into one object per statement, sorted by relation then CURIE."""
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["statement"]].append(row)
    out = []
    for iri, group in grouped.items():
        first = group[0]
        relation = _RELATION_NAMES[min((r["relation"] for r in group), key=_RELATIONS.index)]
        via = {r["via"]: refs.term(r["via"], r.get("viaLabel")) for r in group if r["relation"] == relation}
        links: dict[str, dict[str, TermRef]] = defaultdict(dict)
        lines: dict[str, LineRef] = {}
        sources: dict[str, SourceRefOut] = {}
        quotes: dict[str, QuoteOut] = {}
        for r in group:
            link = r.get("link") or ""
            if r.get("detail") == "source":
                sources[r["source"]] = refs.source(r["source"], r.get("sourceLabel"), r["sourceNumber"])
            elif r.get("detail") == "quote":
                quotes[r["quote"]] = refs.quote(r["quote"], r["quoteText"], r.get("quoteOrigin"), r["quoteSource"])
            elif link in _LINE_LINKS:
                lines[_LINE_LINKS[link]] = refs.line(r["target"], r.get("rank"), r.get("targetLabel"))
            elif link in _TERM_LINKS:
                links[_TERM_LINKS[link]][r["target"]] = refs.term(r["target"], r.get("targetLabel"))
        out.append(
            StatementOut(
                statement=refs.terms.compress(iri),
                iri=iri,
                kind=kind_name(first["kind"]),
                label=first.get("label") or local_name(iri),
                claim=first["claim"],
                relation=relation,
                via=sorted_terms(via),
                **{name: sorted_terms(links[name]) for name in _TERM_LINKS.values()},
                line=lines.get("line"),
                requires_prior_line=lines.get("requires_prior_line"),
                sources=sorted(sources.values(), key=lambda s: (s.reference, s.source)),
                quotes=sorted(quotes.values(), key=lambda q: q.quote),
            )
        )
    return sorted(out, key=lambda s: (_RELATIONS.index(s.relation), s.statement))


def term_lists(rows: list[Row], refs: Refs) -> tuple[dict[str, TermRef], dict[str, TermRef], list[CodeOut]]:
    parents: dict[str, TermRef] = {}
    children: dict[str, TermRef] = {}
    codes: dict[tuple[str, str], CodeOut] = {}
    for r in rows:
        if r.get("detail") == "parent":
            parents[r["other"]] = refs.term(r["other"], r.get("otherLabel"))
        elif r.get("detail") == "child":
            children[r["other"]] = refs.term(r["other"], r.get("otherLabel"))
        elif r.get("detail") == "code":
            codes[(r["code"], r["match"])] = refs.code(r["code"], r["match"])
    return parents, children, sorted(codes.values(), key=lambda c: (c.system or "", c.code, c.match))


def term_detail(store: Store, refs: Refs, value: str, category: Category, field: str) -> TermDetail:
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
    parents, children, codes = term_lists(rows, refs)
    return TermDetail(
        curie=refs.terms.compress(iri),
        iri=iri,
        label=rows[0].get("label") or local_name(iri),
        category=category,
        definition=rows[0].get("definition"),
        parents=sorted_terms(parents),
        children=sorted_terms(children),
        codes=codes,
        statements=statements_of(select(store, "term-statements", term=iri), refs),
    )


def term_list(store: Store, refs: Refs, category: str) -> list[TermSummary]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in select(store, "terms", category=category):
        grouped[row["term"]].append(row)
    out = []
    for iri, group in grouped.items():
        parents, _, codes = term_lists(group, refs)
        out.append(
            TermSummary(
                curie=refs.terms.compress(iri),
                iri=iri,
                label=group[0].get("label") or local_name(iri),
                category=CATEGORIES[category],
                definition=group[0].get("definition"),
                parents=sorted_terms(parents),
                codes=codes,
            )
        )
    return sorted(out, key=lambda t: t.curie)
