"""The release in every format and variant (issue 12 item 5): `make release` writes Turtle, RDF/XML, OWL
functional syntax and JSON-LD, full and base, as ODK releases do; each holds the same ontology, and Protégé's
own library (the OWL API) opens each format and reads the same axioms from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import owlready2
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF

from kg.ontology.build import write_release
from kg.ontology.release_files import BASE_STEM, FULL_STEM, SUFFIXES
from kg.resources import ontology_dir

ROOT = Path(__file__).resolve().parents[1]
HERMIT_JAR = Path(owlready2.__file__).parent / "hermit" / "HermiT.jar"
OPEN_ONTOLOGY = ROOT / "tests" / "owlapi" / "OpenOntology.java"
ONTOLOGY = "https://w3id.org/therapy-kg/ontology"
#: the authored version with the digest of the release's content (`kg.ontology.release_version`)
VERSION = str(rdflib.Graph().parse(ontology_dir() / "therapy-kg.ttl").value(rdflib.URIRef(ONTOLOGY), OWL.versionIRI))
NAMES = [f"{stem}{suffix}" for stem in (FULL_STEM, BASE_STEM) for suffix in SUFFIXES]
XSD_STRING = rdflib.URIRef("http://www.w3.org/2001/XMLSchema#string")
RDFLIB_FORMATS = {".ttl": "turtle", ".owl": "xml", ".jsonld": "json-ld"}


@pytest.fixture(scope="module")
def written(build_result, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("release")
    return {path.name: path for path in write_release(build_result, out)}


def test_the_build_writes_every_format_of_both_variants_and_the_turtle_first(written) -> None:
    assert list(written) == NAMES
    assert NAMES[0] == "therapy-kg.ttl", "the main release (what the store loads) comes first"


@pytest.mark.parametrize("name", NAMES)
def test_a_fresh_build_is_the_committed_file_byte_for_byte(written, name: str) -> None:
    assert written[name].read_bytes() == (ontology_dir() / name).read_bytes(), "run `make release`"


def _graph(path: Path) -> rdflib.Graph:
    """The file's graph, with "abc"^^xsd:string written "abc" (the same literal in RDF 1.1)."""
    graph = rdflib.Graph().parse(path, format=RDFLIB_FORMATS[path.suffix])
    plain = rdflib.Graph()
    for s, p, o in graph:
        if isinstance(o, rdflib.Literal) and o.datatype == XSD_STRING:
            o = rdflib.Literal(str(o))
        plain.add((s, p, o))
    return plain


@pytest.mark.parametrize("stem", [FULL_STEM, BASE_STEM])
def test_turtle_rdf_xml_and_json_ld_hold_the_same_triples(written, stem: str) -> None:
    turtle = _graph(written[f"{stem}.ttl"])
    assert len(turtle) > 1000
    for other in (f"{stem}.owl", f"{stem}.jsonld"):
        graph = _graph(written[other])
        assert len(graph) == len(turtle) and isomorphic(graph, turtle), other


def test_json_ld_reads_the_same_in_a_second_parser(written) -> None:
    """Oxigraph's JSON-LD reader, not only rdflib's, reads as many triples as the Turtle holds."""
    turtle = ox.parse(path=written["therapy-kg.ttl"], format=ox.RdfFormat.TURTLE)
    json_ld = ox.parse(path=written["therapy-kg.jsonld"], format=ox.RdfFormat.JSON_LD)
    assert len(list(json_ld)) == len(list(turtle))


def test_the_base_variant_has_its_own_iris_and_the_same_version(written) -> None:
    base = rdflib.Graph().parse(written["therapy-kg-base.ttl"])
    full = rdflib.Graph().parse(written["therapy-kg.ttl"])
    assert set(base.subjects(RDF.type, OWL.Ontology)) == {rdflib.URIRef(f"{ONTOLOGY}/base")}
    assert base.value(rdflib.URIRef(f"{ONTOLOGY}/base"), OWL.versionIRI) == rdflib.URIRef(f"{VERSION}/base")
    assert base.value(rdflib.URIRef(f"{ONTOLOGY}/base"), OWL.versionInfo) == full.value(
        rdflib.URIRef(ONTOLOGY), OWL.versionInfo
    )


def _owl_api_available() -> bool:
    return shutil.which("java") is not None and shutil.which("javac") is not None and HERMIT_JAR.is_file()


@pytest.mark.owl
@pytest.mark.skipif(
    not _owl_api_available() and not os.environ.get("CI"),
    reason="needs a JDK (Java's source launcher) to run tests/owlapi/OpenOntology.java; CI has one",
)
def test_the_owl_api_opens_every_owl_format_with_the_same_axioms(written) -> None:
    """What Protégé does on File > Open: each of .ttl, .owl and .ofn parses, names the variant's IRIs and
    holds the same axioms (an undeclared skos: property once made the functional syntax disagree)."""
    files = [written[f"{stem}{suffix}"] for stem in (FULL_STEM, BASE_STEM) for suffix in (".ttl", ".owl", ".ofn")]
    opened = subprocess.run(
        ["java", "-cp", str(HERMIT_JAR), str(OPEN_ONTOLOGY), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = [line.split("\t") for line in opened.stdout.splitlines()]
    assert [Path(row[0]).name for row in rows] == [path.name for path in files]
    formats = {row[1] for row in rows}
    assert formats == {"TurtleOntologyFormat", "RDFXMLOntologyFormat", "OWLFunctionalSyntaxOntologyFormat"}
    full, base = rows[:3], rows[3:]
    assert {(row[2], row[3]) for row in full} == {(ONTOLOGY, VERSION)}
    assert {(row[2], row[3]) for row in base} == {(f"{ONTOLOGY}/base", f"{VERSION}/base")}
    assert len({tuple(row[4:]) for row in full}) == 1, rows
    assert len({tuple(row[4:]) for row in base}) == 1, rows
    assert int(full[0][5]) > 200, "the logical axioms were read"


def test_every_catalog_entry_names_the_ontology_its_file_declares() -> None:
    """Protégé resolves an import through catalog-v001.xml: each name must be the ontology or version IRI
    of the file it points to, and each release variant must be there."""
    catalog = ontology_dir() / "catalog-v001.xml"
    entries = ET.parse(catalog).getroot().findall("{urn:oasis:names:tc:entity:xmlns:xml:catalog}uri")
    for entry in entries:
        path = catalog.parent / entry.attrib["uri"]
        graph = rdflib.Graph().parse(path, format="turtle")
        headers = {
            str(iri) for s in graph.subjects(RDF.type, OWL.Ontology) for iri in (s, graph.value(s, OWL.versionIRI))
        }
        assert entry.attrib["name"] in headers, f"{entry.attrib['name']} is not declared by {path.name}"
    named = {entry.attrib["uri"] for entry in entries}
    assert {"therapy-kg.ttl", "therapy-kg-base.ttl"} <= named
