"""CURIE ⇄ IRI conversion for the graph's terms, with the `curies` library."""

from __future__ import annotations

from functools import lru_cache

import curies

from kg.errors import PatientInputError

TKG = "https://w3id.org/therapy-kg/"
DEFAULT_PREFIXES = {
    "tkg": TKG,
    "SCTID": "http://snomed.info/id/",
    "RXNORM": "http://purl.bioontology.org/ontology/RXNORM/",
    "ATC": "http://purl.bioontology.org/ontology/ATC/",
    "ICD10CM": "http://purl.bioontology.org/ontology/ICD10CM/",
    "obo": "http://purl.obolibrary.org/obo/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}


class TermResolver:
    """Expands CURIEs (`tkg:Baclofen`) and accepts full IRIs; compresses IRIs for output."""

    def __init__(self, prefixes: dict[str, str] | None = None) -> None:
        self.converter = curies.Converter.from_prefix_map(prefixes or DEFAULT_PREFIXES)
        # hot paths: the same graph IRIs and CURIEs repeat in every evaluation
        self.compress = lru_cache(maxsize=8192)(self._compress)
        self._expand_known = lru_cache(maxsize=8192)(self.converter.expand)

    def expand(self, value: str, *, field: str) -> str:
        """Return the full IRI of a CURIE or IRI; anything else is an input error naming `field`.

        >>> TermResolver().expand("tkg:Baclofen", field="x")
        'https://w3id.org/therapy-kg/Baclofen'
        """
        if not isinstance(value, str) or not value.strip():
            raise PatientInputError(field, "expected a CURIE (e.g. tkg:Spasticity) or an IRI")
        value = value.strip()
        if value.startswith(("http://", "https://", "urn:")):
            return value
        if ":" not in value:
            raise PatientInputError(
                field, f"{value[:100]!r} is neither a CURIE (prefix:name, e.g. tkg:Spasticity) nor an IRI"
            )
        expanded = self._expand_known(value)
        if expanded is None:
            prefix = value.split(":", 1)[0] if ":" in value else value
            raise PatientInputError(
                field,
                f"unknown CURIE {value!r} (prefix {prefix!r} is not one of: "
                + ", ".join(sorted(self.converter.prefix_map))
                + ")",
            )
        return expanded

    def _compress(self, iri: str) -> str:
        """The CURIE of an IRI when a prefix covers it, else the IRI itself."""
        return self.converter.compress(iri) or iri
