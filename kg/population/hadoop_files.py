"""Folders and files as Spark sees them: a local path, or any URL its Hadoop client reads (`file://`, `hdfs://`,
`s3a://`, `abfss://`, `gs://`, …), through the driver's JVM (issue 11 item 3).

A population run on a cluster reads the export where the cluster keeps it and writes its outputs there, so the
driver lists, writes and renames through Hadoop's `FileSystem`, which Spark's executors use too; nothing needs
to be mounted at the same path everywhere. A path without a scheme means what it means to Spark: the cluster's
default file system (`fs.defaultFS`: the local disk in local mode, HDFS on most clusters). A scheme whose client
is not on Spark's class path (`s3a://` without hadoop-aws) is an `InputError` saying so, before any work.
"""

from __future__ import annotations

from typing import Any

from kg.errors import InputError


class HadoopFiles:
    """The driver's view of one or more Hadoop file systems (`SparkContext` given, its Hadoop configuration)."""

    def __init__(self, context: Any) -> None:
        self._jvm = context._jvm
        self._conf = context._jsc.hadoopConfiguration()

    def _located(self, url: str, field: str) -> tuple[Any, Any]:
        """The Hadoop path of `url` and its file system; an InputError naming `field` when no client reads it."""
        from py4j.protocol import Py4JJavaError

        path = self._jvm.org.apache.hadoop.fs.Path(url)
        try:
            return path, path.getFileSystem(self._conf)
        except Py4JJavaError as exc:  # UnsupportedFileSystemException: no client for the scheme on the class path
            raise InputError(f"Spark cannot open {url}: {_first_line(exc)}", field=field) from None

    def files(self, url: str, field: str = "folder") -> list[tuple[str, str]]:
        """The files directly in the folder `url`, as (name, URL), by name; an InputError if it is no folder."""
        path, fs = self._located(url, field)
        if not fs.exists(path) or not fs.getFileStatus(path).isDirectory():
            raise InputError(f"{url} is not a folder Spark can read", field=field)
        found = [(s.getPath().getName(), s.getPath().toString()) for s in fs.listStatus(path) if s.isFile()]
        return sorted(found)

    def exists(self, url: str) -> bool:
        path, fs = self._located(url, "out")
        return bool(fs.exists(path))

    def write(self, url: str, data: bytes) -> None:
        """A new file holding `data` (an existing one is an error: nothing is overwritten)."""
        path, fs = self._located(url, "out")
        fs.setWriteChecksum(False)  # no `.report.json.crc` beside the report on a local disk
        stream = fs.create(path, False)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()

    def rename(self, source: str, target: str) -> None:
        """Give a file or folder its final name (atomic on HDFS; a copy on object stores, done last)."""
        path, fs = self._located(source, "out")
        if not fs.rename(path, self._jvm.org.apache.hadoop.fs.Path(target)):
            raise InputError(f"could not rename {source} to {target}", field="out")

    def remove(self, url: str) -> None:
        path, fs = self._located(url, "out")
        fs.delete(path, True)


def joined(folder: str, name: str) -> str:
    """`name` inside the folder `folder` (a path or a URL)."""
    return f"{folder.rstrip('/')}/{name}"


def _first_line(exc: Exception) -> str:
    java = getattr(exc, "java_exception", None)
    text = str(java) if java is not None else str(exc)
    return text.strip().splitlines()[0][:300]
