"""Population runs: a FHIR Bulk Data export evaluated patient by patient in bounded memory (issue 11).

`bulk` reads the export's files, `spill` groups the resources by patient on disk, `table` writes the
compact table, `run` puts them together behind `therapy-kg population`.
"""
