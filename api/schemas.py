"""Response models of the evaluation (SPEC §5), for the OpenAPI schema. Extra keys are allowed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class SourceOut(_Open):
    source: str
    label: str
    reference: int


class ReasonOut(_Open):
    statement: str
    kind: str
    label: str
    claim: str
    sources: list[SourceOut]
    matched: list[dict]


class IndicationOut(_Open):
    """A term with its label (an indication, a route)."""

    term: str
    label: str


class OptionOut(_Open):
    intervention: str
    label: str
    indication: IndicationOut | None = Field(
        default=None, description="The patient's condition this option is for; null for a statement naming none"
    )
    line: int | None
    status: Literal["eligible", "deferred", "excluded", "not-indicated", "undetermined"]
    preferred: bool
    reasons: list[ReasonOut]
    cautions: list[ReasonOut]
    dosing: list[ReasonOut]
    monitoring: list[ReasonOut]
    evidence: list[ReasonOut]


class AffectsOut(_Open):
    indication: str | None
    intervention: str


class QuestionOut(_Open):
    question: str
    field: str
    candidates: list[str] = Field(description="The terms that would answer it; empty where none is known")
    options: list[str]
    affects: list[AffectsOut] = Field(description="The options (indication, intervention) the answer would change")


class TherapyStatusOut(_Open):
    indication: IndicationOut | None
    status: Literal["eligible", "deferred", "excluded", "not-indicated", "undetermined"]


class CurrentTherapyOut(_Open):
    intervention: str
    label: str
    form: IndicationOut | None = Field(
        description="The route of its product form; null where the record or graph gives none"
    )
    indications: list[TherapyStatusOut] = Field(description="Its status for each indication; empty: none recorded")
    discontinuation: list[ReasonOut]
    monitoring: list[ReasonOut]
    cautions: list[ReasonOut]
    prerequisite_not_recorded: list[dict]


class WarningOut(_Open):
    kind: str
    intervention: str | None = Field(description="The therapy it concerns; null for the patient as a whole")
    message: str


class EvaluationOut(_Open):
    patient: str | None
    knowledge_version: str
    engine: Literal["fast", "owl"]
    conditions: list[dict]
    unrecognized: list[dict]
    options: list[OptionOut]
    current_therapies: list[CurrentTherapyOut]
    deceased: dict | None = Field(
        default=None, description="Present when the record says the patient has died: {date} (null if not given)"
    )
    as_of: str | None = Field(default=None, description="The evaluation date the record was read at, when one was")
    missing_information: list[QuestionOut]
    warnings: list[WarningOut]
