"""The doctests of every kg and api module run (STYLE: doctests on public functions)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(
    ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
    for package in ("kg", "api")
    for p in (REPO / package).rglob("*.py")
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest example(s) of {name} failed"


@pytest.mark.parametrize("name", MODULES)
def test_every_doctest_asserts_something(name: str) -> None:
    """A doctest whose examples expect no output runs code but checks nothing: each must show a result."""
    silent = [
        test.name
        for test in doctest.DocTestFinder().find(importlib.import_module(name))
        if test.examples and not any(example.want.strip() for example in test.examples)
    ]
    assert not silent, f"doctests of {name} that assert nothing: {silent}"
