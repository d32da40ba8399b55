"""Evaluation (SPEC §5) → CDS Hooks cards. Pure functions: an evaluation and a `CardContext` in, cards out.

Every card cites the statements it rests on (their CURIEs, claims and quotes) and their numbered
sources in `detail`; `source.label` names the card's primary source ("therapy-kg: Source 2: FDA
label for baclofen tablets"). Summaries are built to fit the specification's limit: each is the
first of a few candidate sentences, from the most to the least specific, that fits.
"""

from __future__ import annotations

from api.cds.cards.context import CardContext
from api.cds.cards.order_select import order_cards
from api.cds.cards.patient_view import patient_view_cards
from api.cds.cards.text import fit, listing

__all__ = ["CardContext", "fit", "listing", "order_cards", "patient_view_cards"]
