"""Every claim of the seed text is in the graph with its source, and the SPEC §3 modelling rules hold.

The seed is parsed here, not summarised by hand: every sentence that carries citation numbers is
a claim, and must be covered by a statement whose tkg:claimText is a verbatim span of that
sentence without its citation digits (SPEC §3: "… labeling provides", not "… labeling 2 provides")
and whose tkg:hasSource includes those numbers. Conversely every tkg:claimText is such a span of
the seed, and cites nothing its sentence does not cite.
(ontology/seed.txt is a byte-for-byte copy of the seed; tests/data/README.md says where from.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS

from kg.ontology.classify import world_from_graphs
from kg.ontology.hermit import classify
from kg.ontology.seed import CITATION as _CITATION
from kg.ontology.seed import SEED_FILE, uncited
from kg.ontology.sources import read_sources
from kg.resources import ontology_dir

DATA = Path(__file__).parent / "data"
SEED = ontology_dir() / SEED_FILE
SOURCES_REFERENCE = DATA / "sources-reference.md"
TKG = rdflib.Namespace("https://w3id.org/therapy-kg/")
OBO_DEFINITION = rdflib.URIRef("http://purl.obolibrary.org/obo/IAO_0000115")
XSD = rdflib.Namespace("http://www.w3.org/2001/XMLSchema#")  # a plain Namespace: pytest probes module attributes

# ---------------------------------------------------------------- parsing the seed

_SENTENCE_END = re.compile(r'[.!?]"?(?:\s+' + r"[1-6](?:,\s*[1-6])*" + r")?(?=\s+[A-Z])")


@dataclass(frozen=True)
class SeedClaim:
    line: int
    sentence: str
    numbers: frozenset[int]

    @property
    def id(self) -> str:
        words = re.findall(r"[A-Za-z0-9]+", self.sentence)[:6]
        return f"line{self.line}-" + "-".join(w.lower() for w in words)


def seed_sentences(text: str) -> list[tuple[int, str]]:
    """(line number, sentence) for every sentence of the seed, bullets stripped."""
    result = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip().removeprefix("- ").strip()
        start = 0
        for match in _SENTENCE_END.finditer(line):
            result.append((number, line[start : match.end()].strip()))
            start = match.end()
        if line[start:].strip():
            result.append((number, line[start:].strip()))
    return result


def seed_claims(text: str) -> list[SeedClaim]:
    """Every seed sentence that cites numbered sources, with the numbers it cites."""
    claims = []
    for line, sentence in seed_sentences(text):
        numbers = {int(n) for group in _CITATION.findall(sentence) for n in re.findall(r"\d", group)}
        if numbers:
            claims.append(SeedClaim(line, sentence, frozenset(numbers)))
    return claims


SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_UNCITED = "\n".join(uncited(line) for line in SEED_TEXT.splitlines())
CLAIMS = seed_claims(SEED_TEXT)


def _source_statements() -> list[str]:
    """Statement IRIs read from the ontology sources (cheap, at collection time, for test ids)."""
    graph = read_sources(ontology_dir()).graph
    return sorted(str(s) for s in statements(graph))


def statements(graph: rdflib.Graph) -> set[rdflib.URIRef]:
    kinds = set(graph.transitive_subjects(RDFS.subClassOf, TKG.ClinicalStatement))
    return {s for kind in kinds for s in graph.subjects(RDF.type, kind) if isinstance(s, rdflib.URIRef)}


def source_numbers(graph: rdflib.Graph, statement: rdflib.term.Node) -> set[int]:
    return {
        int(n) for src in graph.objects(statement, TKG.hasSource) for n in graph.objects(src, TKG.seedReferenceNumber)
    }


def claim_text(graph: rdflib.Graph, statement: rdflib.term.Node) -> str:
    texts = [str(t) for t in graph.objects(statement, TKG.claimText)]
    assert len(texts) == 1, f"{statement} has {len(texts)} claim texts"
    return texts[0]


def is_subclass(graph: rdflib.Graph, sub: rdflib.term.Node, sup: rdflib.term.Node) -> bool:
    return sup in set(graph.transitive_objects(sub, RDFS.subClassOf))


STATEMENTS = _source_statements()


@pytest.fixture(scope="module")
def graph(build_result) -> rdflib.Graph:
    return build_result.graph


# ---------------------------------------------------------------- the parser itself


def test_the_parser_finds_every_cited_sentence_of_the_seed() -> None:
    """Guards the parser: the seed has 23 cited sentences citing sources 1-6, and no dose figure
    is taken for a citation."""
    assert len(CLAIMS) == 23, [c.sentence for c in CLAIMS]
    assert set().union(*(c.numbers for c in CLAIMS)) == {1, 2, 3, 4, 5, 6}

    def cites(start: str) -> set[int]:
        [claim] = [c for c in CLAIMS if c.sentence.startswith(start)]
        return set(claim.numbers)

    assert cites("Oral baclofen (starting 5-10 mg/day") == {1, 3}
    assert cites("The American Geriatrics Society emphasizes starting at low doses (5 mg") == {3}
    assert cites("Only 10% of the systemic dose") == {1}
    assert cites("Research evidence from the 1980s-1990s") == {4, 5, 6}
    assert cites("The guideline recommendations are based on") == {1, 3}
    # two claims on one line, each with its own citation
    assert cites("It is essential to clarify") == {2}
    assert cites("The FDA label explicitly states") == {2}


# ---------------------------------------------------------------- seed → graph


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_seed_claim_is_in_the_graph_with_its_sources(graph, claim: SeedClaim) -> None:
    sentence = uncited(claim.sentence)
    covering = {s: source_numbers(graph, s) for s in statements(graph) if claim_text(graph, s) in sentence}
    assert covering, f"no statement's tkg:claimText is a span of seed line {claim.line}: {claim.sentence!r}"
    with_sources = [s for s, numbers in covering.items() if claim.numbers <= numbers]
    assert with_sources, (
        f"seed line {claim.line} cites {sorted(claim.numbers)}, but the statements covering it cite only: "
        + ", ".join(f"{s} {sorted(n)}" for s, n in covering.items())
    )


# ---------------------------------------------------------------- graph → seed


@pytest.mark.parametrize("statement", STATEMENTS, ids=[s.rsplit("/", 1)[-1] for s in STATEMENTS])
def test_claim_text_is_a_verbatim_span_of_the_seed_citing_no_other_source(graph, statement: str) -> None:
    node = rdflib.URIRef(statement)
    text = claim_text(graph, node)
    assert text.strip(), f"{statement}: empty claim text"
    assert text in SEED_UNCITED, f"{statement}: claim text is not verbatim in the seed (citations left out): {text!r}"
    assert uncited(text) == text, f"{statement}: the claim text keeps the seed's citation digits: {text!r}"
    cited = set().union(*(c.numbers for c in CLAIMS if text in uncited(c.sentence)), set())
    assert cited, f"{statement}: its claim text lies in no cited sentence of the seed"
    assert source_numbers(graph, node) <= cited, (
        f"{statement} cites {sorted(source_numbers(graph, node))} but its seed sentence cites {sorted(cited)}"
    )


def test_the_answer_itself_is_a_statement(graph) -> None:
    """The question's answer ("not first-line for muscle spasm") is data, about baclofen and muscle spasm."""
    answers = [
        s for s in statements(graph) if claim_text(graph, s) == "baclofen is not first-line treatment for muscle spasm"
    ]
    assert len(answers) == 1
    assert set(graph.objects(answers[0], TKG.aboutIntervention)) == {TKG.Baclofen}
    assert set(graph.objects(answers[0], TKG.aboutCondition)) == {TKG.MuscleSpasm}


# ---------------------------------------------------------------- SPEC §3 modelling rules


def test_source_2_speaks_of_oral_baclofen_only(graph) -> None:
    """The FDA tablet label's sentences are about tkg:OralBaclofen (or narrower), never intrathecal baclofen."""
    assert set(graph.objects(TKG.Source2, TKG.productScope)) == {TKG.OralBaclofen}
    citing = [s for s in statements(graph) if (s, TKG.hasSource, TKG.Source2) in graph]
    assert len(citing) >= 4
    for statement in citing:
        about = set(graph.objects(statement, TKG.aboutIntervention))
        assert about, f"{statement} cites source 2 but is about no intervention"
        for intervention in about:
            assert intervention == TKG.OralBaclofen or is_subclass(graph, intervention, TKG.OralBaclofen), (
                f"{statement} cites source 2 (baclofen tablets) but is about {intervention}"
            )


def _recommendations(graph: rdflib.Graph) -> set[rdflib.term.Node]:
    return {s for s in statements(graph) if (s, RDF.type, TKG.Recommendation) in graph}


def test_every_second_line_option_requires_the_first_line(graph) -> None:
    second = [r for r in _recommendations(graph) if (r, TKG.lineOfTherapy, TKG.SecondLine) in graph]
    assert len(second) >= 3
    for rec in second:
        assert set(graph.objects(rec, TKG.requiresPriorLine)) == {TKG.FirstLine}, rec


def test_first_line_options_are_non_pharmacological(graph) -> None:
    """Non-pharmacological therapy comes first: no first-line recommendation offers a drug."""
    first = [r for r in _recommendations(graph) if (r, TKG.lineOfTherapy, TKG.FirstLine) in graph]
    assert first
    for rec in first:
        for option in graph.objects(rec, TKG.aboutIntervention):
            assert is_subclass(graph, option, TKG.NonPharmacologicalIntervention), (rec, option)


def test_pharmacological_options_are_never_first_line(graph) -> None:
    for rec in _recommendations(graph):
        drugs = [
            i
            for i in graph.objects(rec, TKG.aboutIntervention)
            if is_subclass(graph, i, TKG.PharmacologicalIntervention)
        ]
        if drugs:
            ranks = [int(r) for line in graph.objects(rec, TKG.lineOfTherapy) for r in graph.objects(line, TKG.rank)]
            assert ranks and min(ranks) >= 2, (rec, drugs, ranks)


def test_intrathecal_baclofen_is_third_line_and_requires_refractoriness_and_the_first_line(graph) -> None:
    intrathecal = [r for r in _recommendations(graph) if (r, TKG.aboutIntervention, TKG.IntrathecalBaclofen) in graph]
    assert intrathecal
    for rec in intrathecal:
        assert set(graph.objects(rec, TKG.lineOfTherapy)) == {TKG.ThirdLine}, rec
        assert TKG.RefractoryToMaximalOralDose in set(graph.objects(rec, TKG.requiresFinding)), rec
        assert set(graph.objects(rec, TKG.requiresPriorLine)) == {TKG.FirstLine}, rec  # before any pharmacological
    assert is_subclass(graph, TKG.RefractoryToMaximalOralDose, TKG.Finding)


def _datatype_facets(graph: rdflib.Graph, defined: rdflib.URIRef) -> list[tuple[rdflib.URIRef, rdflib.Literal]]:
    """(facet, value) pairs of the ageInYears datatype restriction in `defined`'s equivalent class."""
    facets = []
    for equivalent in graph.objects(defined, OWL.equivalentClass):
        for member in Collection(graph, graph.value(equivalent, OWL.intersectionOf) or RDF.nil):
            if graph.value(member, OWL.onProperty) != TKG.ageInYears:
                continue
            datatype = graph.value(member, OWL.someValuesFrom)
            assert graph.value(datatype, OWL.onDatatype) == XSD.integer
            for restriction in Collection(graph, graph.value(datatype, OWL.withRestrictions)):
                facets.extend(graph.predicate_objects(restriction))
    return facets


def test_older_adult_is_65_or_more_in_the_owl_definition(graph) -> None:
    assert _datatype_facets(graph, TKG.OlderAdult) == [(XSD.minInclusive, rdflib.Literal(65))]
    assert _datatype_facets(graph, TKG.AdultYoungerThan65) == [
        (XSD.minInclusive, rdflib.Literal(18)),
        (XSD.maxExclusive, rdflib.Literal(65)),
    ]
    definition = str(graph.value(TKG.OlderAdult, OBO_DEFINITION))
    assert "65" in definition and "assumption" in definition.lower(), "state the age assumption in the ontology"


AGES = (17, 18, 64, 65, 90)


@pytest.mark.owl
def test_hermit_puts_each_age_in_its_band_and_a_child_in_none(graph) -> None:
    patients = rdflib.Graph()
    for age in AGES:
        patient = TKG[f"TestPatientAged{age}"]
        patients.add((patient, RDF.type, OWL.NamedIndividual))
        patients.add((patient, RDF.type, TKG.Patient))
        patients.add((patient, TKG.ageInYears, rdflib.Literal(age)))
    world = world_from_graphs(graph, patients)
    try:
        inferences = classify(world)
    finally:
        world.close()
    types = {age: inferences.all_types(str(TKG[f"TestPatientAged{age}"])) for age in AGES}
    assert str(TKG.OlderAdult) not in types[64] and str(TKG.AdultYoungerThan65) in types[64]
    assert str(TKG.OlderAdult) in types[65] and str(TKG.AdultYoungerThan65) not in types[65]
    assert str(TKG.OlderAdult) in types[90]
    assert str(TKG.AdultYoungerThan65) in types[18]
    assert not {str(TKG.AdultYoungerThan65), str(TKG.OlderAdult)} & types[17]  # a child: no regimen's population


#: (regimen, dose role, lower, upper, UCUM unit), read off the seed sentence of each regimen.
DOSES = [
    ("OralBaclofenDosing", "StartingDailyDose", "5", "10", "mg/d"),
    ("OralBaclofenDosing", "TargetDailyDose", "30", "80", "mg/d"),
    ("OralBaclofenDosing", "DosesPerDay", "3", "4", "{dose}/d"),
    ("OralBaclofenOlderAdultDosing", "StartingSingleDose", "5", "5", "mg"),
    ("OralBaclofenOlderAdultDosing", "StartingDosesPerDay", None, "3", "{dose}/d"),
    ("OralBaclofenOlderAdultDosing", "RarelyToleratedDailyDoseAbove", "30", "40", "mg/d"),
    ("IntrathecalBaclofenRelativeDose", "DoseRelativeToSystemic", "10", "10", "%"),
]


@pytest.mark.parametrize("regimen,role,lower,upper,ucum", DOSES, ids=[f"{d[0]}-{d[1]}" for d in DOSES])
def test_dose_figures_are_decimals_with_units(graph, regimen, role, lower, upper, ucum) -> None:
    specs = [
        d for d in graph.objects(TKG[regimen], TKG.hasDoseSpecification) if graph.value(d, TKG.doseRole) == TKG[role]
    ]
    assert len(specs) == 1, f"{regimen} has {len(specs)} dose specifications with role {role}"
    spec = specs[0]
    for prop, expected in ((TKG.lowerBound, lower), (TKG.upperBound, upper)):
        value = graph.value(spec, prop)
        if expected is None:
            assert value is None
            continue
        assert isinstance(value, rdflib.Literal) and value.datatype == XSD.decimal, f"{spec} {prop}: {value!r}"
        assert Decimal(str(value)) == Decimal(expected)
    assert str(graph.value(graph.value(spec, TKG.unit), TKG.ucumCode)) == ucum


def test_every_figure_of_a_dosing_sentence_is_a_number_in_the_graph(graph) -> None:
    regimens = [s for s in statements(graph) if (s, RDF.type, TKG.DosingRegimen) in graph]
    assert {str(r).rsplit("/", 1)[-1] for r in regimens} == {d[0] for d in DOSES}
    for regimen in regimens:
        bounds = {
            Decimal(str(b))
            for spec in graph.objects(regimen, TKG.hasDoseSpecification)
            for p in (TKG.lowerBound, TKG.upperBound)
            for b in graph.objects(spec, p)
        }
        figures = {Decimal(n) for n in re.findall(r"\d+", claim_text(graph, regimen))}
        assert figures <= bounds, f"{regimen}: figures {sorted(figures - bounds)} of its sentence are only text"


# ---------------------------------------------------------------- sources

#: SPEC §3: reference number → kind and the organisation the seed names for it.
SOURCES = {
    1: ("Guideline", {"AmericanHeartAssociation"}),
    2: ("DrugLabel", {"FoodAndDrugAdministration"}),
    3: ("Guideline", {"AmericanGeriatricsSociety"}),
    4: ("ResearchEvidence", set()),
    5: ("ResearchEvidence", set()),
    6: ("ResearchEvidence", set()),
}
#: What a source node may say: the seed's facts about it, verified quotes, and prose.
SOURCE_PREDICATES = {
    RDF.type,
    RDFS.label,
    RDFS.comment,
    OBO_DEFINITION,
    TKG.seedReferenceNumber,
    TKG.sourceKind,
    TKG.organization,
    TKG.productScope,
    TKG.hasQuote,
}
_DOI = re.compile(r"\b10\.\d{4,9}/\S+")
_URL = re.compile(r"\b(?:https?|ftp)://|\bwww\.", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")  # "the 1980s-1990s" (the seed's own words) is no year


def _sources(graph: rdflib.Graph) -> dict[int, rdflib.term.Node]:
    found = {}
    for source in graph.subjects(RDF.type, TKG.Source):
        numbers = list(graph.objects(source, TKG.seedReferenceNumber))
        assert len(numbers) == 1 and numbers[0].datatype == XSD.integer, source
        found[int(numbers[0])] = source
    return found


def test_the_sources_are_the_seeds_references_1_to_6(graph) -> None:
    assert sorted(_sources(graph)) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("number", sorted(SOURCES))
def test_source_kind_and_organisation(graph, number: int) -> None:
    source = _sources(graph)[number]
    kind, organisations = SOURCES[number]
    assert set(graph.objects(source, TKG.sourceKind)) == {TKG[kind]}
    assert set(graph.objects(source, TKG.organization)) == {TKG[o] for o in organisations}


@pytest.mark.parametrize("number", sorted(SOURCES))
def test_source_carries_no_doi_url_or_year(graph, number: int) -> None:
    """Nothing was verified for any source (reference/sources.md), so nothing bibliographic is given."""
    source = _sources(graph)[number]
    for p, o in graph.predicate_objects(source):
        assert p in SOURCE_PREDICATES, f"{source} has an unexpected property {p}"
        if isinstance(o, rdflib.Literal):
            for pattern in (_DOI, _URL, _YEAR):
                assert not pattern.search(str(o)), f"{source} {p}: {str(o)!r} looks like a DOI, URL or year"
        elif isinstance(o, rdflib.URIRef) and p != RDF.type:
            assert o.startswith(str(TKG)), f"{source} {p} points outside the graph: {o}"


def test_quotes_are_the_verified_label_sentences(graph) -> None:
    """Every quote is a sentence reference/sources.md lists as verified (copy in tests/data)."""
    reference = SOURCES_REFERENCE.read_text(encoding="utf-8")
    quotes = list(graph.subjects(RDF.type, TKG.Quote))
    assert quotes
    for quote in quotes:
        text = str(graph.value(quote, TKG.quoteText))
        assert f'"{text}"' in reference, f"{quote}: quote text not among the verified sentences: {text!r}"
        assert graph.value(quote, TKG.quotedFrom) in set(_sources(graph).values())
