"""Typed FastAPI dependencies: the app's state objects, reached through the request.

They are `async def` although they only read an attribute: FastAPI runs a plain `def` dependency
in its thread pool, and that hop cost about 6% of a /evaluate request under load (py-spy).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.settings import Settings
from api.state import AppState
from kg.errors import KnowledgeUnavailableError
from kg.service import TherapyKG
from kg.store import Store


async def get_store(request: Request) -> Store:
    """The store the knowledge-bearing routes query: the embedded release, or the verified in-process replica
    of a remote store's release (`kg.store.fingerprint.replica`); /sparql alone asks the remote store."""
    _require_knowledge(request)
    state = getattr(request.app.state, "app_state", None)
    return state.service.store if state is not None else request.app.state.store


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_service(request: Request) -> TherapyKG:
    _require_knowledge(request)
    state = getattr(request.app.state, "app_state", None)  # its service may be recompiled (api.knowledge_watch)
    return state.service if state is not None else request.app.state.service


async def get_app_state(request: Request) -> AppState:
    _require_knowledge(request)
    return request.app.state.app_state


def _require_knowledge(request: Request) -> None:
    """A store without the expected release answers nothing that rests on the graph (`kg.knowledge_check`)."""
    state = getattr(request.app.state, "app_state", None)  # an app built from parts (tests) may have none
    problem = state.knowledge_problem if state is not None else None
    if problem is not None:
        raise KnowledgeUnavailableError(problem, retry_after=60)


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[TherapyKG, Depends(get_service)]
AppStateDep = Annotated[AppState, Depends(get_app_state)]
