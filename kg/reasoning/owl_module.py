"""The part of the ontology one batch of patients reaches, so the owl engine classifies that and not the whole
graph (issue 23 item 4).

The release and the generated eligibility classes are kept as axioms by the IRI each is about: an IRI's own
triples, with the blank nodes they own (class expressions, lists). A batch's module starts from its seeds (the
eligibility classes of the statements that can apply to its patients, and the classes its patients are
recorded with) and adds, until nothing more is reached, the axioms of every IRI an included axiom names. This
is the upward half of a ⊥-locality module: an axiom `X ⊑ C` or `X disjointWith C` whose X nothing reaches
cannot change what the batch's individuals are (X may be taken empty). Two kinds are added however they are
reached: the properties' axioms (the vocabulary: domains, ranges, inverses, characteristics), and a defined
class of the release (`X ≡ …`: the populations) whose definition names a reached IRI, since its members are
inferred from its definition. Blank-node-rooted axioms are added when they name a reached IRI (an axiom
annotation: when its source is reached).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
EQUIVALENT_CLASS = ox.NamedNode("http://www.w3.org/2002/07/owl#equivalentClass")
ONTOLOGY = ox.NamedNode("http://www.w3.org/2002/07/owl#Ontology")
ANNOTATED_SOURCE = ox.NamedNode("http://www.w3.org/2002/07/owl#annotatedSource")
_OWL = "http://www.w3.org/2002/07/owl#"
PROPERTY_TYPES = frozenset(
    ox.NamedNode(iri)
    for iri in (
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property",
        *(
            _OWL + kind
            for kind in (
                "ObjectProperty",
                "DatatypeProperty",
                "AnnotationProperty",
                "TransitiveProperty",
                "FunctionalProperty",
                "InverseFunctionalProperty",
                "SymmetricProperty",
                "AsymmetricProperty",
                "ReflexiveProperty",
                "IrreflexiveProperty",
            )
        ),
    )
)


class AxiomPool:
    """Axioms by the IRI they are about, and the module of a set of seeds."""

    def __init__(self, triples: Iterable[ox.Triple], *, defined_classes_from: Iterable[ox.Triple] = ()) -> None:
        by_subject: dict[ox.NamedNode | ox.BlankNode, list[ox.Triple]] = defaultdict(list)
        blank_objects: set[ox.BlankNode] = set()
        for t in triples:
            by_subject[t.subject].append(t)  # type: ignore[index]
            if isinstance(t.object, ox.BlankNode):
                blank_objects.add(t.object)
        #: each IRI's axioms: its triples and those of the blank nodes they own
        self.axioms: dict[str, list[ox.Triple]] = {}
        #: each IRI's axioms' named IRIs (what including them reaches)
        self.names: dict[str, frozenset[str]] = {}
        self.always: list[ox.Triple] = []
        always_names: set[str] = set()
        #: blank-rooted axioms and the release's defined classes: added once they name a reached IRI
        self._conditional: list[tuple[frozenset[str], str | None, list[ox.Triple]]] = []
        defined = {
            t.subject.value
            for t in defined_classes_from
            if t.predicate == EQUIVALENT_CLASS and isinstance(t.subject, ox.NamedNode)
        }
        for subject, own in by_subject.items():
            if isinstance(subject, ox.BlankNode) and subject in blank_objects:
                continue  # owned by the IRI (or root) that names it
            group = _owned(own, by_subject)
            names = frozenset(_named(group)) - {subject.value if isinstance(subject, ox.NamedNode) else ""}
            if isinstance(subject, ox.BlankNode):
                # an axiom annotation says something about its source only; other roots (AllDisjointClasses…)
                # about every class they name
                sources = frozenset(
                    t.object.value
                    for t in own
                    if t.predicate == ANNOTATED_SOURCE and isinstance(t.object, ox.NamedNode)
                )
                self._conditional.append((sources or names, None, group))
            elif any(t.predicate == RDF_TYPE and (t.object in PROPERTY_TYPES or t.object == ONTOLOGY) for t in own):
                self.always += group
                always_names |= names
            else:
                self.axioms[subject.value] = group
                self.names[subject.value] = names
                if subject.value in defined:
                    self._conditional.append((names, subject.value, []))
        self.always_names = frozenset(always_names)

    def module(self, seeds: Iterable[str]) -> list[ox.Triple]:
        """The axioms the seeds reach (see the module docstring), the vocabulary's first."""
        reached: set[str] = set()
        frontier = [*seeds, *self.always_names]
        found: list[ox.Triple] = list(self.always)
        pending = list(self._conditional)
        while frontier:
            while frontier:
                iri = frontier.pop()
                if iri in reached:
                    continue
                reached.add(iri)
                found += self.axioms.get(iri, ())
                frontier += self.names.get(iri, ())
            still = []
            for names, cls, group in pending:
                if names.isdisjoint(reached):
                    still.append((names, cls, group))
                elif cls is not None:
                    frontier.append(cls)
                else:
                    found += group
                    frontier += names
            pending = still
        return found


def _owned(triples: list[ox.Triple], by_subject: dict[ox.NamedNode | ox.BlankNode, list[ox.Triple]]) -> list[ox.Triple]:
    """`triples` and, recursively, the triples of the blank nodes they name."""
    group = list(triples)
    seen: set[ox.BlankNode] = set()
    stack = [t.object for t in triples if isinstance(t.object, ox.BlankNode)]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for t in by_subject.get(node, ()):
            group.append(t)
            if isinstance(t.object, ox.BlankNode):
                stack.append(t.object)
    return group


def _named(triples: list[ox.Triple]) -> Iterable[str]:
    """The IRIs the triples name as objects, but for the built-in vocabulary (`owl:Class`, `rdfs:comment`: no
    axioms of the graph are about them), and not their predicates (properties, whose axioms are always added)."""
    for t in triples:
        if isinstance(t.object, ox.NamedNode) and not t.object.value.startswith(_BUILT_IN):
            yield t.object.value


_BUILT_IN = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    _OWL,
    "http://www.w3.org/2001/XMLSchema#",
)
