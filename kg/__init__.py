"""therapy-kg: a computable clinical-guideline knowledge graph with explainable per-patient reasoning."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("therapy-kg")  # one version string: pyproject.toml's
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
