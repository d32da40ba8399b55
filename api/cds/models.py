"""Pydantic models of CDS Hooks 2.0: the service request, the hook contexts, cards and discovery.

Member names are the specification's own (camelCase), so the models read and write the wire
format as is. Optional members left unset are omitted from responses (`dump`), never sent as null.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

#: The specification asks for a summary of fewer than 140 characters.
SUMMARY_MAX = 139
#: A FHIR resource id (FHIR R4 `id` datatype).
FHIR_ID = r"^[A-Za-z0-9\-\.]{1,64}$"

Text = Annotated[StrictStr, Field(min_length=1, max_length=1000)]


def dump(model: BaseModel) -> dict:
    """The JSON form of a response model: unset optional members are left out."""
    return model.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------------------------- request
class FhirAuthorization(BaseModel):
    """The OAuth 2.0 bearer token a client may pass; this service never uses it."""

    model_config = ConfigDict(extra="allow")
    access_token: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    token_type: Literal["Bearer"]
    expires_in: Annotated[int, Field(ge=0)]
    scope: Annotated[StrictStr, Field(max_length=10_000)]
    subject: Annotated[StrictStr, Field(max_length=1000)]
    patient: Annotated[StrictStr | None, Field(default=None, max_length=64)] = None


class CDSRequest(BaseModel):
    """The body of `POST /cds-services/{id}` (CDS Hooks 2.0 "HTTP Request")."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "hook": "patient-view",
                    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                    "context": {"userId": "Practitioner/example", "patientId": "p1"},
                    "prefetch": {
                        "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"},
                        "conditions": {
                            "resourceType": "Bundle",
                            "type": "searchset",
                            "entry": [
                                {
                                    "resource": {
                                        "resourceType": "Condition",
                                        "subject": {"reference": "Patient/p1"},
                                        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "230690007"}]},
                                    }
                                }
                            ],
                        },
                    },
                }
            ]
        },
    )
    hook: Annotated[StrictStr, Field(min_length=1, max_length=100, description="The hook that triggered the call.")]
    hookInstance: Annotated[
        StrictStr, Field(min_length=1, max_length=200, description="A UUID for this particular hook call.")
    ]
    fhirServer: Annotated[
        StrictStr | None,
        Field(default=None, max_length=2000, description="The client's FHIR base URL; never contacted."),
    ] = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any] = Field(description="Hook-specific context (see the hook's definition).")
    prefetch: dict[str, dict[str, Any] | None] | None = Field(
        default=None, description="FHIR data prefetched by the client, keyed as in the discovery response."
    )
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> CDSRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirAuthorization is given without fhirServer")
        return self


class PatientViewContext(BaseModel):
    """Context of the patient-view hook."""

    model_config = ConfigDict(extra="allow")
    userId: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    patientId: Annotated[StrictStr, Field(pattern=FHIR_ID)]
    encounterId: Annotated[StrictStr | None, Field(default=None, pattern=FHIR_ID)] = None


class OrderSelectContext(PatientViewContext):
    """Context of the order-select hook: the newly selected orders and every draft order of the session."""

    selections: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=200)]], Field(min_length=1, max_length=100)
    ]
    draftOrders: dict[str, Any]


# ---------------------------------------------------------------------------------- response
class Coding(BaseModel):
    system: StrictStr | None = None
    code: Annotated[StrictStr, Field(min_length=1)]
    display: StrictStr | None = None


class OverrideReason(Coding):
    """A reason a user may give for overriding a card; the specification requires a display."""

    display: Text


class Source(BaseModel):
    """The primary source of a card's guidance."""

    label: Text
    url: StrictStr | None = None
    icon: StrictStr | None = None
    topic: Coding | None = None


class Action(BaseModel):
    """One change a suggestion makes in the client."""

    type: Literal["create", "update", "delete"]
    description: Text
    resource: dict[str, Any] | None = None
    resourceId: StrictStr | None = None

    @model_validator(mode="after")
    def _target(self) -> Action:
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and not self.resourceId:
            raise ValueError("a delete action needs a resourceId")
        return self


class Suggestion(BaseModel):
    label: Text
    uuid: StrictStr | None = None
    isRecommended: StrictBool | None = None
    actions: list[Action] | None = None


class Link(BaseModel):
    label: Text
    url: Annotated[StrictStr, Field(pattern=r"^https?://")]
    type: Literal["absolute", "smart"]
    appContext: StrictStr | None = None

    @model_validator(mode="after")
    def _app_context_only_for_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only valid on smart links")
        return self


class Card(BaseModel):
    """A CDS Hooks card."""

    uuid: StrictStr | None = None
    summary: Annotated[StrictStr, Field(min_length=1, max_length=SUMMARY_MAX)]
    detail: StrictStr | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[OverrideReason] | None = None
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _selection(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when a card has suggestions")
        if self.selectionBehavior == "at-most-one" and sum(bool(s.isRecommended) for s in self.suggestions or []) > 1:
            raise ValueError("at most one suggestion may be recommended when selectionBehavior is at-most-one")
        return self


class CDSResponse(BaseModel):
    cards: list[Card]
    systemActions: list[Action] | None = None


# ---------------------------------------------------------------------------------- discovery
class Service(BaseModel):
    """One entry of the discovery response."""

    hook: StrictStr
    title: StrictStr | None = None
    description: StrictStr
    id: StrictStr
    prefetch: dict[str, StrictStr] | None = None
    usageRequirements: StrictStr | None = None


class Discovery(BaseModel):
    services: list[Service]


# ---------------------------------------------------------------------------------- feedback
class AcceptedSuggestion(BaseModel):
    id: UUID = Field(description="The uuid of a suggestion the user accepted.")


class FeedbackOverrideReason(BaseModel):
    """Why the user overrode the card: one of the card's `overrideReasons` (or the client's own), a comment."""

    reason: Coding | None = None
    userComment: Annotated[
        StrictStr | None, Field(default=None, max_length=10_000, description="Free text; never stored.")
    ] = None

    @model_validator(mode="after")
    def _something(self) -> FeedbackOverrideReason:
        if self.reason is None and self.userComment is None:
            raise ValueError("an overrideReason needs a reason or a userComment")
        return self


class FeedbackEntry(BaseModel):
    """One user interaction with a card (CDS Hooks 2.0 "Feedback")."""

    card: UUID = Field(description="The uuid of the card the user acted on.")
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[list[AcceptedSuggestion] | None, Field(default=None, max_length=100)] = None
    overrideReason: FeedbackOverrideReason | None = None
    outcomeTimestamp: AwareDatetime = Field(description="When the user acted (an instant, with its time zone).")

    @model_validator(mode="after")
    def _outcome_members(self) -> FeedbackEntry:
        if self.acceptedSuggestions and self.outcome != "accepted":
            raise ValueError("acceptedSuggestions are only given with the outcome 'accepted'")
        if self.overrideReason is not None and self.outcome != "overridden":
            raise ValueError("an overrideReason is only given with the outcome 'overridden'")
        return self


class FeedbackRequest(BaseModel):
    """The body of `POST /cds-services/{id}/feedback`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "feedback": [
                        {
                            "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                            "outcome": "overridden",
                            "overrideReason": {
                                "reason": {
                                    "system": "https://w3id.org/therapy-kg/cds/override-reason",
                                    "code": "specialist-advice",
                                }
                            },
                            "outcomeTimestamp": "2024-05-01T10:20:30Z",
                        }
                    ]
                }
            ]
        }
    )
    feedback: Annotated[list[FeedbackEntry], Field(min_length=1, max_length=100)]


class FeedbackReceipt(BaseModel):
    received: int = Field(description="Feedback entries counted.")
    attributed: int = Field(
        description="Of them, entries about a card this service process issued (by uuid); "
        "the others are counted as unattributed."
    )


class OutcomeCount(BaseModel):
    kind: str = Field(description="The card kind, e.g. options, order/excluded, warning/current-therapy-excluded.")
    intervention: str | None = Field(description="The intervention the card is about (CURIE), if one.")
    statement: str | None = Field(description="A statement the card rests on (CURIE), null for cards citing none.")
    outcome: Literal["accepted", "overridden"]
    count: int


class OverrideReasonCount(BaseModel):
    kind: str
    intervention: str | None
    reason: str = Field(
        description="An override reason code of this service, `other` (a reason of the "
        "client's own) or `none` (no coded reason given)."
    )
    count: int


class AcceptedSuggestionCount(BaseModel):
    kind: str
    intervention: str | None
    suggestion: str = Field(
        description="What the suggestion proposed (e.g. `propose tkg:Stretching`, `remove-order`), or `unknown`."
    )
    count: int


class FeedbackCounts(BaseModel):
    """Feedback counted by this process since it started; no patient data, no free text."""

    service: str
    outcomes: list[OutcomeCount]
    overrideReasons: list[OverrideReasonCount]
    acceptedSuggestions: list[AcceptedSuggestionCount]
    unattributed: dict[str, int] = Field(
        description="Outcome → entries about a card uuid this process did not "
        "issue (another worker or instance, or before a restart)."
    )
