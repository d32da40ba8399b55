"""A generated panel of patients for a release diff: built from the conditions and interventions both releases'
statements name, so that a statement added or changed meets the patients it can apply to, not only those
someone thought to write down.

Systematic, not random: every condition a statement is for (as indication, cause or coexisting condition),
alone at three ages (a child, an adult, an older adult: either side of the population bounds); every condition
with each of its candidate causes; and every indication with each intervention as the current therapy, with
the first line tried, so the second and third lines are reached. The same releases give the same panel.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import rdflib
from rdflib.namespace import RDFS

from kg.ontology.prefixes import PREFIXES
from kg.release_diff.answers import Patient
from kg.release_diff.statements import curie, expand

TKG = rdflib.Namespace(PREFIXES["tkg"])
#: a child, an adult younger than 65, an older adult
AGES = (10, 40, 72)
ADULT = 40


def generated_panel(*graphs: rdflib.Graph) -> list[Patient]:
    indications = _objects(graphs, TKG.forIndication)
    conditions = indications | _objects(graphs, TKG.forIndicationDueTo) | _objects(graphs, TKG.withCoexistingCondition)
    interventions = _objects(graphs, TKG.aboutIntervention)
    causes = {
        (curie(cause), curie(kind))  # each cause with its condition and every narrower one (generalized spasticity)
        for g in graphs
        for cause, of in g.subject_objects(TKG.candidateCauseOf)
        for kind in g.transitive_subjects(RDFS.subClassOf, of)
        if kind is not None
    }
    patients: dict[str, dict[str, Any]] = {}

    def add(name: str, document: dict[str, Any]) -> None:
        patients.setdefault(name, {"id": name, **document})

    for condition, age in product(sorted(conditions), AGES):
        add(f"panel-{_local(condition)}-age{age}", {"age": age, "conditions": [condition]})
    for cause, condition in sorted(causes):
        add(
            f"panel-{_local(condition)}-due-to-{_local(cause)}",
            {"age": ADULT, "conditions": [{"condition": condition, "due_to": cause}]},
        )
    for indication, current in product(sorted(indications), sorted(interventions)):
        add(
            f"panel-{_local(indication)}-on-{_local(current)}",
            {
                "age": ADULT,
                "conditions": [indication],
                "therapies_tried": sorted(_first_line(graphs, indication) - {current}),
                "current_therapies": [current],
            },
        )
    return [Patient(name, document) for name, document in sorted(patients.items())]


def _first_line(graphs: tuple[rdflib.Graph, ...], indication: str) -> set[str]:
    """The first-line interventions for `indication` or a broader condition (what is tried before line 2)."""
    broader = {
        curie(b) for g in graphs for b in g.transitive_objects(expand(indication), RDFS.subClassOf) if b is not None
    }
    return {
        curie(i)
        for g in graphs
        for s in g.subjects(TKG.lineOfTherapy, TKG.FirstLine)
        if {curie(x) for x in g.objects(s, TKG.forIndication)} & broader
        for i in g.objects(s, TKG.aboutIntervention)
    }


def _objects(graphs: tuple[rdflib.Graph, ...], prop: rdflib.URIRef) -> set[str]:
    return {curie(o) for g in graphs for o in g.objects(None, prop) if isinstance(o, rdflib.URIRef)}


def _local(curie_name: str) -> str:
    return curie_name.split(":", 1)[-1]
