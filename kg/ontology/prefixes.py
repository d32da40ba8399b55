"""The project's prefixes: how its files, tables and releases write IRIs."""

from __future__ import annotations

from rdflib.namespace import OWL

PREFIXES = {
    "tkg": "https://w3id.org/therapy-kg/",
    "obo": "http://purl.obolibrary.org/obo/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "owl": str(OWL),
    "SCTID": "http://snomed.info/id/",
    "RXNORM": "http://purl.bioontology.org/ontology/RXNORM/",
    "ATC": "http://purl.bioontology.org/ontology/ATC/",
    "ICD10CM": "http://purl.bioontology.org/ontology/ICD10CM/",
}
#: what a table may also write (the release does not bind them: rdflib writes rdf:, rdfs: and xsd: anyway)
TABLE_PREFIXES = PREFIXES | {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
