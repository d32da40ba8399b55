"""The response models of the lookups, and the error responses they document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.errors import Problem

Relation = Literal["self", "inherited", "narrower"]
Category = Literal["condition", "intervention", "finding"]
MatchKind = Literal["exactMatch", "closeMatch", "narrowMatch"]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "The graph holds no such term"}}
BAD_INPUT: dict[int | str, dict[str, Any]] = {
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
    match: MatchKind = Field(description="The SKOS mapping predicate")


class TermSummary(TermRef):
    category: Category
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
    indications: list[TermRef] = Field(description="Role of its conditions: the indications it treats")
    indication_causes: list[TermRef] = Field(
        description="Role of its conditions: causes of the indication it treats (spasticity resulting from them)"
    )
    coexisting_conditions: list[TermRef] = Field(
        description="Role of its conditions: conditions of the patient besides the indication"
    )
    in_doubt_with: list[TermRef] = Field(
        description="Conditions that, recorded beside the indication, leave it in doubt (undetermined, and asked)"
    )
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
    category: Category | None
    match: MatchKind
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
