"""therapy-kg: a computable clinical-guideline knowledge graph with explainable per-patient reasoning."""

__version__ = "0.1.0"
