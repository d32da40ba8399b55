"""Population runs: a FHIR Bulk Data export evaluated patient by patient in bounded memory (issue 11).

`bulk` reads the export's files, `spill` groups the resources by patient on disk, `record` evaluates one
patient's record as `/evaluate` would, `patterns` evaluates each canonical record once and fills the others'
documents from it, `table` writes the compact table, `run` puts them together behind `therapy-kg population`
(`spark` on Apache Spark), `synth` generates exports to run them on.
"""
