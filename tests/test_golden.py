"""The answers on ontology/examples/ are the golden ones, byte for byte (see tests/golden.py)."""

from __future__ import annotations

import pytest

from tests.golden import GOLDEN, answers, golden_client


@pytest.fixture(scope="module")
def current() -> dict[str, str]:
    with golden_client() as client:
        return answers(client)


def test_every_golden_answer_is_unchanged(current: dict[str, str]) -> None:
    assert sorted(current) == sorted(p.name for p in GOLDEN.iterdir())
    changed = [
        name
        for name, text in current.items()
        if (GOLDEN / name).read_text(encoding="utf-8") != (text if text.endswith("\n") else text + "\n")
    ]
    assert not changed, f"answers changed (if meant: python -m tests.golden, then read the diff): {changed}"
