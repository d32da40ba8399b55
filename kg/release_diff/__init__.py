"""`therapy-kg diff OLD NEW`: what a new release changes, as a release note a clinician can sign off.

`releases` opens each side (a release file, or ontology sources built on the spot), `axioms` lists the
axioms added and removed (as `robot diff` does), `answers` runs the same patients through both releases and
lists every status, dose, caution, warning or question that differs with the statements responsible, and
`report` writes the note as Markdown, HTML or JSON.
"""
