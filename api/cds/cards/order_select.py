"""order-select: the card (if any) for one selected draft order, by the status of its option."""

from __future__ import annotations

from collections.abc import Iterable

from api.cds.cards.context import EXCLUDING, CardContext
from api.cds.cards.order_eligible import order_eligible_card
from api.cds.cards.order_status import (
    order_deferred_card,
    order_excluded_card,
    order_unassessed_card,
    order_undetermined_card,
)
from api.cds.cards.text import notes_section
from api.cds.models import Card
from api.cds.orders import OrderMatch


def order_cards(evaluation: dict, match: OrderMatch, ctx: CardContext, notes: Iterable[str] = ()) -> list[Card]:
    """The card (if any) for one selected draft order that maps to an intervention of the graph;
    `notes` (prefetched data not used) end its detail."""
    option = match.option
    if option is None:
        card = order_unassessed_card(evaluation, match, ctx) if evaluation["unrecognized"] else None
    elif option["status"] in EXCLUDING:
        card = order_excluded_card(evaluation, match, option, ctx)
    elif option["status"] == "deferred":
        card = order_deferred_card(evaluation, match, option, ctx)
    elif option["status"] == "undetermined":
        card = order_undetermined_card(evaluation, match, option, ctx)
    else:
        card = order_eligible_card(evaluation, match, option, ctx)
    if card is None:
        return []
    extra = notes_section(notes)
    return [card.model_copy(update={"detail": "\n".join([card.detail or "", *extra])})] if extra else [card]
