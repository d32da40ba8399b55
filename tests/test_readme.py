"""The README's security section names real settings and flags: a renamed or removed limit fails here."""

from __future__ import annotations

import re
from pathlib import Path

from api.settings import Settings
from kg.cli import make_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECURITY = README.split("## Security", 1)[1].split("\n## ", 1)[0]


def test_every_setting_in_the_limits_table_exists() -> None:
    rows = [line for line in SECURITY.splitlines() if line.startswith("| `")]
    names = {name.lower() for row in rows for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])}
    assert len(names) >= 15
    assert names <= set(Settings.model_fields), names - set(Settings.model_fields)


def test_every_serve_flag_the_section_names_exists() -> None:
    serve = make_parser()._subparsers._group_actions[0].choices["serve"]  # noqa: SLF001 - argparse has no getter
    flags = {option for action in serve._actions for option in action.option_strings}  # noqa: SLF001
    named = set(re.findall(r"(--[a-z][a-z-]+)", SECURITY))
    assert named and named <= flags, named - flags
