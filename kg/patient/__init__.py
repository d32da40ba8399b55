"""Stage 3, the patient: a patient document (SPEC §4) or a FHIR R4 Bundle read, its codes checked by their
system's syntax, its terms resolved to the graph's classes, and doubtful facts turned into questions."""
