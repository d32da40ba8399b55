"""Shared fixtures: one release build and one embedded store per test session."""

from __future__ import annotations

import pytest

from kg.ontology.build import BuildResult, build
from kg.store import OxigraphStore
from kg.store.release import embedded_store


@pytest.fixture(scope="session")
def build_result() -> BuildResult:
    return build()


@pytest.fixture(scope="session")
def store(build_result: BuildResult) -> OxigraphStore:
    return embedded_store(build_result)
