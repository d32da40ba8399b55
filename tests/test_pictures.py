"""The README's pictures are what the code draws now (`python -m tests.pictures` redraws them)."""

from __future__ import annotations

import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from tests.golden import golden_client
from tests.pictures import EVALUATION, LADDER, PICTURES, REPORT, drawings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"), reason="needs Graphviz's dot: apt-get install graphviz"
)
def test_the_committed_drawings_are_what_the_service_draws() -> None:
    with golden_client() as client:
        drawn = drawings(client)
    for name, svg in drawn.items():
        assert (PICTURES / name).read_bytes() == svg, f"{name} is out of date: run python -m tests.pictures"


def test_the_report_picture_is_a_screenshot_of_the_page() -> None:
    png = (PICTURES / REPORT).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1100, 2200)


def test_the_readme_shows_every_picture() -> None:
    shown = set(re.findall(r"!\[[^\]]+\]\(docs/pictures/([^)]+)\)", (ROOT / "README.md").read_text()))
    assert shown == {LADDER, EVALUATION, REPORT}
