"""Stage 1, the ontology: read the edit file and its components, add the mappings, validate with SHACL,
classify with HermiT, write the release; quality control and the Protégé examples."""
