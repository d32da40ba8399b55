"""Typed FastAPI dependencies: the app's state objects, reached through the request.

They are `async def` although they only read an attribute: FastAPI runs a plain `def` dependency
in its thread pool, and that hop cost about 6% of a /evaluate request under load (py-spy).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.settings import Settings
from api.state import AppState
from kg.service import TherapyKG
from kg.store import Store


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_service(request: Request) -> TherapyKG:
    return request.app.state.service


async def get_app_state(request: Request) -> AppState:
    return request.app.state.app_state


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[TherapyKG, Depends(get_service)]
AppStateDep = Annotated[AppState, Depends(get_app_state)]
