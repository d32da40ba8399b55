"""The knowledge the engines reason with, compiled from the graph by the queries in queries/engine/.

Nothing clinical is written here: statements, class hierarchy, populations and code mappings are
read from whatever store holds the release graph (embedded or remote). Adding a statement to the
ontology changes what the engines answer without touching this code.
"""

from __future__ import annotations

import gc
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

from kg.errors import SourceFileError
from kg.store import Row, Store, rows, solutions
from kg.store.queries import named_query
from kg.store.terms import TKG

CONDITION = TKG + "Condition"
INTERVENTION = TKG + "Intervention"
FINDING = TKG + "Finding"
PATIENT = TKG + "Patient"
LINE_OF_THERAPY = TKG + "LineOfTherapy"
ROUTE = TKG + "RouteOfAdministration"
DOSING_REGIMEN = TKG + "DosingRegimen"

#: The statement classes of the graph and the `kind` the evaluation output calls them.
KINDS = {
    TKG + "Recommendation": "recommendation",
    TKG + "Contraindication": "contraindication",
    TKG + "NonIndication": "not-indicated",
    TKG + "Caution": "caution",
    TKG + "DiscontinuationCaution": "discontinuation-caution",
    TKG + "DosingRegimen": "dosing",
    TKG + "MonitoringRequirement": "monitoring",
    TKG + "EvidenceClaim": "evidence",
}
STATUS_KINDS = frozenset({"recommendation", "contraindication", "not-indicated"})


@dataclass(frozen=True)
class SourceRef:
    iri: str
    label: str
    number: int


@dataclass(frozen=True)
class QuoteRef:
    iri: str
    text: str
    origin: str
    source: str


@dataclass(frozen=True)
class DoseSpec:
    role: str
    role_label: str
    lower: Decimal | None
    upper: Decimal | None
    unit: str
    ucum: str


@dataclass(frozen=True)
class Statement:
    """One statement node, with the class IRIs it links to."""

    iri: str
    kind: str
    label: str
    claim: str
    interventions: frozenset[str]
    conditions: frozenset[str]
    population: str | None
    line: int | None
    prior_line: int | None
    required_findings: frozenset[str]
    preferred: frozenset[str]
    sources: tuple[SourceRef, ...]
    quotes: tuple[QuoteRef, ...]
    doses: tuple[DoseSpec, ...]
    #: interventions whose initiation meets `prior_line` (derived from the other recommendations)
    prior_options: frozenset[str] = frozenset()
    #: conditions less specific than `conditions` (a patient recorded with one of them may qualify)
    condition_parents: frozenset[str] = frozenset()
    #: the roles of `conditions` (SPEC §3): the indications it treats, causes of the indication it treats,
    #: conditions the patient has besides the indication; every condition named has at least one role
    indications: frozenset[str] = frozenset()
    indication_causes: frozenset[str] = frozenset()
    coexisting: frozenset[str] = frozenset()
    #: conditions less specific than `indications`: a patient's condition recorded as one may be an indication
    indication_parents: frozenset[str] = frozenset()
    #: conditions that, when the patient has one, leave it unknown whether the indication is really the one
    #: treated (tkg:indicationInDoubtWith: a muscle spasm recorded with multiple sclerosis), and the question then
    in_doubt_with: frozenset[str] = frozenset()
    doubt_question: str | None = None
    #: therapies whose current users are shown this (discontinuation) statement always (an intrathecal pump)
    shown_to_current_users_of: frozenset[str] = frozenset()

    @property
    def by_indication(self) -> bool:
        """Whether it applies per indication of the patient (it names an indication or a cause of one), not
        to the patient as a whole (it names only coexisting conditions, or none)."""
        return bool(self.indications or self.indication_causes)


@dataclass(frozen=True)
class Population:
    iri: str
    min_inclusive: int | None
    max_exclusive: int | None

    def contains(self, age: int) -> bool:
        return (self.min_inclusive is None or age >= self.min_inclusive) and (
            self.max_exclusive is None or age < self.max_exclusive
        )


@dataclass(frozen=True)
class Routes:
    """The routes of administration as the graph gives them (queries/engine/routes.rq)."""

    words: dict[str, str] = field(default_factory=dict)  # a word naming a route, lower case → route IRI
    forms: dict[str, str] = field(default_factory=dict)  # product form IRI → its route IRI
    assumed: dict[str, tuple[str, str]] = field(default_factory=dict)  # drug IRI → (assumed route, the note)

    def in_text(self, text: str) -> str | None:
        """The route the words of `text` name; of several, the one a product form is given by (an
        "intrathecal injection" is intrathecal); None when none is named, or several are and none of
        them or more than one is a product form's.

        >>> routes = Routes({"oral": "tkg:Oral", "injection": "tkg:Inj", "intrathecal": "tkg:IT"}, {"tkg:F": "tkg:IT"})
        >>> routes.in_text("Intrathecal injection"), routes.in_text("by injection"), routes.in_text("IV")
        ('tkg:IT', 'tkg:Inj', None)
        """
        named = {route for word, route in self.words.items() if re.search(rf"\b{re.escape(word)}\b", text, re.I)}
        if len(named) > 1:
            named &= set(self.forms.values())
        return next(iter(named)) if len(named) == 1 else None

    def form(self, k: Knowledge, drug: str, route: str) -> str | None:
        """The one product form of `drug` given by `route` (baclofen + oral route → oral baclofen), or None."""
        forms = [f for f in k.descendants(drug) if f != drug and self.forms.get(f) == route]
        return forms[0] if len(forms) == 1 else None

    def of(self, k: Knowledge, therapy: str) -> str | None:
        """The route of the product form `therapy` is or falls under (the most specific, where several are)."""
        forms = [a for a in k.ancestors.get(therapy, {therapy}) if a in self.forms]
        if not forms:
            return None
        return self.forms[min(forms, key=lambda f: (-len(k.ancestors.get(f, ())), f))]


@dataclass(frozen=True)
class Presupposition:
    """A finding's presupposed therapies, and what is asked and said when the record names none."""

    therapies: frozenset[str]
    question: str  # {presupposed} to fill in
    note: str  # {term}, {presupposed} to fill in

    def met_by(self, k: Knowledge, tried: frozenset[str]) -> bool:
        """Whether a tried or current therapy is one of the therapies, falls under one, or is a class one of
        them falls under (baclofen of unstated form for oral baclofen)."""
        return any(k.is_a(t, p) or k.is_a(p, t) for t in tried for p in self.therapies)


@dataclass
class Knowledge:
    statements: tuple[Statement, ...]
    labels: dict[str, str]
    ancestors: dict[str, frozenset[str]]  # every tkg class → itself and all its named superclasses
    populations: dict[str, Population]
    codes: dict[str, list[tuple[str, str]]]  # code IRI → [(term IRI, match predicate)]
    version: str
    ontology_iri: str
    questions: dict[str, str] = field(default_factory=dict)  # class IRI → its missing-information question
    routes: Routes = field(default_factory=Routes)
    notes: dict[str, str] = field(default_factory=dict)  # class IRI → its no-applicable-regimen note template
    candidate_causes: dict[str, frozenset[str]] = field(default_factory=dict)  # condition → its candidate causes
    presuppositions: dict[str, Presupposition] = field(default_factory=dict)  # finding → what it presupposes
    cause_questions: dict[str, str] = field(default_factory=dict)  # class → its cause question template
    disjoint: dict[str, frozenset[str]] = field(default_factory=dict)  # class → the classes declared disjoint with it
    by_iri: dict[str, Statement] = field(init=False)
    #: indexes computed once, so that what one patient or one term costs is what its statements cost, not
    #: what the whole graph holds (issue 23 item 4)
    _naming: dict[str, tuple[Statement, ...]] = field(init=False, repr=False)
    _shown_to_users_of: dict[str, tuple[Statement, ...]] = field(init=False, repr=False)
    _descendants: dict[str, frozenset[str]] = field(init=False, repr=False)
    _about: dict[str, tuple[Statement, ...]] = field(init=False, repr=False)
    _whole_patient_status: dict[str, tuple[Statement, ...]] = field(init=False, repr=False)
    _unconditioned_status: tuple[Statement, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_iri = {s.iri: s for s in self.statements}
        self._naming = _index(self.statements, lambda s: s.interventions)
        self._shown_to_users_of = _index(self.statements, lambda s: s.shown_to_current_users_of)
        below: dict[str, set[str]] = defaultdict(set)
        for cls, ancestors in self.ancestors.items():
            for ancestor in ancestors:
                below[ancestor].add(cls)
        self._descendants = {cls: frozenset(classes) for cls, classes in below.items()}
        self._about = {}
        whole = tuple(s for s in self.statements if s.kind in STATUS_KINDS and not s.by_indication)
        self._whole_patient_status = _index(whole, lambda s: s.conditions | s.condition_parents)
        self._unconditioned_status = tuple(s for s in whole if not s.conditions)

    def statements_about(self, intervention: str) -> tuple[Statement, ...]:
        """The statements about `intervention` or a class it falls under, by IRI (remembered per intervention)."""
        about = self._about.get(intervention)
        if about is None:
            about = self._about[intervention] = self._under(self._naming, intervention)
        return about

    def whole_patient_status(self, conditions: Iterable[str]) -> list[Statement]:
        """The status-deciding statements for the whole patient (not per indication) that can apply or possibly
        apply to a patient with these conditions (closed upward): those naming one of them as a condition or the
        parent of one, and those naming no condition; by IRI."""
        found = {s.iri: s for s in self._unconditioned_status}
        for c in conditions:
            found.update((s.iri, s) for s in self._whole_patient_status.get(c, ()))
        return [found[iri] for iri in sorted(found)]

    def shown_to_current_users_of(self, therapy: str) -> tuple[Statement, ...]:
        """The statements shown to every current user of `therapy` or of a class it falls under, by IRI."""
        return self._under(self._shown_to_users_of, therapy)

    def _under(self, index: dict[str, tuple[Statement, ...]], cls: str) -> tuple[Statement, ...]:
        found = {s.iri: s for ancestor in self.ancestors.get(cls, {cls}) for s in index.get(ancestor, ())}
        return tuple(found[iri] for iri in sorted(found))

    def label(self, iri: str) -> str:
        label = self.labels.get(iri)
        return label if label is not None else iri.rsplit("/", 1)[-1]

    def question(self, cls: str, term: str = "") -> str:
        """The graph's question about a missing fact of class `cls` (tkg:missingInformationQuestion), `term` in it."""
        if cls not in self.questions:
            raise SourceFileError(cls, "the graph gives no tkg:missingInformationQuestion for this class")
        return self.questions[cls].replace("{term}", term)

    def note(self, cls: str, **values: str) -> str:
        """The graph's note for class `cls` (tkg:noApplicableRegimenNote, tkg:deceasedNote), placeholders filled."""
        if cls not in self.notes:
            raise SourceFileError(
                cls, "the graph gives no note (tkg:noApplicableRegimenNote, tkg:deceasedNote) for this class"
            )
        text = self.notes[cls]
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text

    def cause_question(self, condition: str) -> str:
        """The graph's question about what causes `condition` (the template of its nearest class that has one)."""
        holders = [c for c in self.ancestors.get(condition, {condition}) if c in self.cause_questions]
        if not holders:
            raise SourceFileError(condition, "the graph gives no tkg:causeQuestion for this class")
        nearest = max(holders, key=lambda c: len(self.ancestors.get(c, ())))
        return self.cause_questions[nearest].replace("{term}", self.label(condition))

    def causes_declared_for(self, condition: str) -> frozenset[str]:
        """The candidate causes of `condition` and of every condition it falls under (spasticity's for focal)."""
        return self._inherited(self.candidate_causes, condition)

    def disjoint_classes(self, cls: str, other: str) -> bool:
        """Whether nothing can be both: one of them falls under a class declared disjoint with a class the
        other falls under (focal spasticity and rheumatic muscle spasm)."""
        return not self.alternatives(cls).isdisjoint(self.ancestors.get(other, {other}))

    def alternatives(self, cls: str) -> frozenset[str]:
        """The classes declared disjoint with `cls` or a class it falls under (what a muscle spasm is not)."""
        return self._inherited(self.disjoint, cls)

    def _inherited(self, table: dict[str, frozenset[str]], cls: str) -> frozenset[str]:
        """What `table` gives `cls` and every class it falls under, together."""
        found: frozenset[str] = frozenset()
        for ancestor in self.ancestors.get(cls, {cls}):
            found |= table.get(ancestor, frozenset())
        return found

    def is_a(self, cls: str, ancestor: str) -> bool:
        """`cls` is `ancestor` or under it (a class the graph does not hold is only itself)."""
        ancestors = self.ancestors.get(cls)
        return ancestor in ancestors if ancestors is not None else cls == ancestor

    def classes_under(self, root: str) -> list[str]:
        return sorted(self.descendants(root) - {root})

    def descendants(self, cls: str) -> frozenset[str]:
        """`cls` and every class under it (none for a class the graph does not hold)."""
        return self._descendants.get(cls, frozenset())


def _index(
    statements: tuple[Statement, ...], terms: Callable[[Statement], frozenset[str]]
) -> dict[str, tuple[Statement, ...]]:
    """The statements by each term they name (in `terms(s)`), each list in statement order."""
    found: dict[str, list[Statement]] = defaultdict(list)
    for s in statements:
        for term in terms(s):
            found[term].append(s)
    return {term: tuple(named) for term, named in found.items()}


def _rows(store: Store, name: str) -> Iterator[Row]:
    return rows(solutions(named_query(f"engine/{name}").run(store)))


def compile_knowledge(store: Store) -> Knowledge:
    """Read everything the engines need from `store` in a handful of queries.

    The cyclic garbage collector is paused meanwhile: everything made here lives as long as the knowledge,
    and its collections, each walking every object alive, made compiling 1,000 answers take 1.9 times as long
    per answer as 10 (issue 23 item 4). It is resumed, as it was, however the compile ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _compile(store)
    finally:
        if was_enabled:
            gc.enable()


def _compile(store: Store) -> Knowledge:
    labels: dict[str, str] = {}
    parents: dict[str, set[str]] = defaultdict(set)
    for row in _rows(store, "class-hierarchy"):
        parents[row["class"]]
        if (parent := row.get("super")) is not None:
            parents[row["class"]].add(parent)
        if label := row.get("label"):
            labels[row["class"]] = label
    ancestors = _close(parents)

    links: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in _rows(store, "statement-links"):
        links[row["statement"]][row["link"].removeprefix(TKG)].add(row["target"])
    sources: dict[str, list[SourceRef]] = defaultdict(list)
    for row in _rows(store, "statement-sources"):
        sources[row["statement"]].append(SourceRef(row["source"], row.get("label") or "", int(row["number"])))
        labels[row["source"]] = row.get("label") or row["source"]
    quotes: dict[str, list[QuoteRef]] = defaultdict(list)
    for row in _rows(store, "statement-quotes"):
        quotes[row["statement"]].append(QuoteRef(row["quote"], row["text"], row.get("origin") or "", row["source"]))
    doses: dict[str, list[DoseSpec]] = defaultdict(list)
    for row in _rows(store, "dose-specifications"):
        doses[row["statement"]].append(
            DoseSpec(
                row["role"],
                row["roleLabel"],
                _decimal(row.get("lower")),
                _decimal(row.get("upper")),
                row["unitLabel"],
                row["ucum"],
            )
        )

    doubt_questions = {row["statement"]: row["template"] for row in _rows(store, "doubt-questions")}
    statements = []
    for row in _rows(store, "statements"):
        iri = row["statement"]
        link = links[iri]
        statements.append(
            Statement(
                iri=iri,
                kind=KINDS[row["kind"]],
                label=row.get("label") or iri,
                claim=row["claim"],
                interventions=frozenset(link["aboutIntervention"]),
                conditions=frozenset(link["aboutCondition"]),
                population=row.get("population"),
                line=_integer(row.get("line")),
                prior_line=_integer(row.get("priorLine")),
                required_findings=frozenset(link["requiresFinding"]),
                preferred=frozenset(link["preferredIntervention"]),
                indications=frozenset(link["forIndication"]),
                indication_causes=frozenset(link["forIndicationDueTo"]),
                coexisting=frozenset(link["withCoexistingCondition"]),
                in_doubt_with=frozenset(link["indicationInDoubtWith"]),
                doubt_question=doubt_questions.get(iri),
                shown_to_current_users_of=frozenset(link["shownToEveryCurrentUserOf"]),
                sources=tuple(sorted(sources[iri], key=lambda s: s.number)),
                quotes=tuple(quotes[iri]),
                doses=tuple(doses[iri]),
            )
        )
        labels[iri] = row.get("label") or iri
    statements = _derive(statements, ancestors)

    populations: dict[str, Population] = {}
    for row in _rows(store, "population-bounds"):
        population = row["population"]
        current = populations.get(population, Population(population, None, None))
        low, high = _integer(row.get("minInclusive")), _integer(row.get("maxExclusive"))
        populations[population] = Population(
            population,
            low if low is not None else current.min_inclusive,
            high if high is not None else current.max_exclusive,
        )
    codes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in _rows(store, "code-mappings"):
        codes[row["code"]].append((row["term"], row["predicate"]))
    version_rows = list(_rows(store, "knowledge-version"))
    version = version_rows[0]["version"] if version_rows else ""
    ontology_iri = (version_rows[0].get("ontology") or "") if version_rows else ""
    questions = {row["class"]: row["template"] for row in _rows(store, "missing-information-questions")}
    return Knowledge(
        tuple(statements),
        labels,
        ancestors,
        populations,
        dict(codes),
        version,
        ontology_iri,
        questions,
        _routes(_rows(store, "routes")),
        {row["class"]: row["template"] for row in _rows(store, "notes")},
        _candidate_causes(_rows(store, "candidate-causes")),
        _presuppositions(_rows(store, "presuppositions")),
        {row["class"]: row["template"] for row in _rows(store, "cause-questions")},
        _disjoint(_rows(store, "disjoint-classes")),
    )


def _presuppositions(found: Iterator[Row]) -> dict[str, Presupposition]:
    therapies: dict[str, set[str]] = defaultdict(set)
    texts: dict[str, tuple[str, str]] = {}
    for row in found:
        therapies[row["finding"]].add(row["therapy"])
        texts[row["finding"]] = (row["question"], row["note"])
    return {f: Presupposition(frozenset(t), *texts[f]) for f, t in therapies.items()}


def _disjoint(found: Iterator[Row]) -> dict[str, frozenset[str]]:
    pairs: dict[str, set[str]] = defaultdict(set)
    for row in found:
        pairs[row["class"]].add(row["other"])
    return {cls: frozenset(others) for cls, others in pairs.items()}


def _candidate_causes(found: Iterator[Row]) -> dict[str, frozenset[str]]:
    causes: dict[str, set[str]] = defaultdict(set)
    for row in found:
        causes[row["condition"]].add(row["cause"])
    return {condition: frozenset(c) for condition, c in causes.items()}


def _routes(found: Iterator[Row]) -> Routes:
    words: dict[str, str] = {}
    forms: dict[str, str] = {}
    assumed: dict[str, tuple[str, str]] = {}
    for row in found:
        if row["detail"] == "word":
            words[row["word"].lower()] = row["route"]
        elif row["detail"] == "form":
            forms[row["form"]] = row["route"]
        else:
            assumed[row["drug"]] = (row["route"], row.get("note") or "")
    return Routes(words, forms, assumed)


def _integer(value: str | None) -> int | None:
    return int(value) if value else None


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _close(parents: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    closed: dict[str, frozenset[str]] = {}

    def visit(cls: str, stack: frozenset[str]) -> frozenset[str]:
        if cls in closed:
            return closed[cls]
        result = {cls}
        for parent in parents.get(cls, ()):
            if parent not in stack:
                result |= visit(parent, stack | {cls})
        closed[cls] = frozenset(result)
        return closed[cls]

    for cls in list(parents):
        visit(cls, frozenset())
    return closed


def _derive(statements: list[Statement], ancestors: dict[str, frozenset[str]]) -> list[Statement]:
    """Add what follows from the other statements: prior-line options and less specific conditions.

    A recommendation that requires line N is met by trying an option that a recommendation places
    at line N for the same condition or one of its parents (the seed's "initiated before any
    pharmacological therapy").
    """
    at_line: dict[tuple[int, str], set[str]] = defaultdict(set)  # (line, condition) → what is recommended there
    for other in statements:
        if other.kind == "recommendation" and other.line is not None:
            for c in other.conditions:
                at_line[(other.line, c)] |= other.interventions
    derived = []
    for s in statements:
        prior: set[str] = set()
        if s.prior_line is not None:
            for mine in s.conditions:
                for c in ancestors.get(mine, {mine}):
                    prior |= at_line.get((s.prior_line, c), set())
        parents_of: set[str] = set()
        for c in s.conditions:
            parents_of |= ancestors.get(c, {c}) - {c, CONDITION}
        indication_parents: set[str] = set()
        for c in s.indications:
            indication_parents |= ancestors.get(c, {c}) - {c, CONDITION}
        derived.append(
            replace(
                s,
                prior_options=frozenset(prior),
                condition_parents=frozenset(parents_of - s.conditions),
                indication_parents=frozenset(indication_parents - s.indications),
            )
        )
    return derived
