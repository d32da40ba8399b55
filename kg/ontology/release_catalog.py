"""Keep the Protégé catalog's release entries naming the release the build just wrote.

catalog-v001.xml maps each release variant's version IRI to its file, so that Protégé opens the release
by the name an import or a citation uses. The version IRI carries the digest of the release's content
(`kg.ontology.release_version`), so each build that changes the knowledge changes the name: the build
rewrites those entries' names in place (only the `name` of an entry whose `uri` is a release file; the
rest of the catalog is the author's and is left byte for byte).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import quoteattr

from kg.errors import SourceFileError
from kg.ontology.sources import CATALOG_FILE, CATALOG_NS


def point_catalog_at(out_dir: Path, names: Mapping[str, tuple[str, str]]) -> Path | None:
    """Rename each catalog entry of `out_dir` whose `uri` is a key of `names` (a release file name, mapped to
    its (ontology IRI, version IRI)) to the version IRI, unless it names the file by its ontology IRI; return
    the catalog's path, or None when `out_dir` has no catalog."""
    path = out_dir / CATALOG_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    try:
        entries = ET.fromstring(text).iter(f"{CATALOG_NS}uri")
    except ET.ParseError as exc:
        raise SourceFileError(str(path), f"cannot read the catalog: {exc}") from exc
    for entry in entries:
        uri, name = entry.get("uri", ""), entry.get("name", "")
        if uri not in names or name in names[uri]:
            continue
        version_iri = names[uri][1]
        written = f"name={quoteattr(name)} uri={quoteattr(uri)}"
        if written not in text:
            raise SourceFileError(str(path), f'the entry for {uri} is not written as name="…" uri="…"')
        text = text.replace(written, f"name={quoteattr(version_iri)} uri={quoteattr(uri)}")
    path.write_text(text, encoding="utf-8")
    return path
