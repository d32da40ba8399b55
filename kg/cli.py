"""The `therapy-kg` command: each subcommand parses its arguments and calls one library function.

Commands of packages built on kg (the HTTP API's `serve`) join through the `therapy_kg.commands` entry
points, each a function that adds its subparser: kg never imports them, so dependencies point one way.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path

from kg.errors import TherapyKGError, exit_code

#: The entry-point group through which other packages add subcommands.
COMMANDS = "therapy_kg.commands"


def _cmd_build(args: argparse.Namespace) -> int:
    from kg.ontology.build import build, write_release
    from kg.qc import run_checks

    problems = run_checks(args.source)  # tables, SHACL and the QC queries: every problem at once, as ROBOT report
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} problem(s): nothing built", file=sys.stderr)
        return 2
    result = build(args.source, reason=not args.no_reason)
    main, *others = write_release(result, Path(args.out))
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    print(f"built {main} ({result.triple_count} triples, {result.inferred_axioms} inferred axioms; {timings})")
    print("also " + ", ".join(path.name for path in others))
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from kg.release_diff.compare import compare
    from kg.release_diff.report import render

    patients = [Path(p) for p in args.patients]
    note = compare(Path(args.old), Path(args.new), patients, args.as_of or date.today(), args.engine, args.panel)
    text = render(note, args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_components(args: argparse.Namespace) -> int:
    from kg.ontology.generated_components import write_components
    from kg.resources import ontology_dir

    for path in write_components(args.source or ontology_dir()):
        print(f"wrote {path}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from kg.qc import run_checks

    problems = run_checks(args.source)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from kg.batch import evaluate_file

    return evaluate_file(Path(args.file), engine=args.engine, out=sys.stdout, progress=not args.quiet, as_of=args.as_of)


def _cmd_explain(args: argparse.Namespace) -> int:
    from kg.batch import explain_file

    return explain_file(Path(args.file), engine=args.engine, out=sys.stdout, as_of=args.as_of, verbose=args.verbose)


def _cmd_population(args: argparse.Namespace) -> int:
    from kg.batch import _service
    from kg.population.run import run_population

    if args.spark is not None:
        from kg.population.spark import run_population_spark

        report = run_population_spark(args.folder, args.out, master=args.spark, as_of=args.as_of)  # paths or URLs
    else:
        report = run_population(
            Path(args.folder),
            Path(args.out),
            _service(),
            as_of=args.as_of,
            table_format=args.table,
            workers=args.workers,
            progress=not args.quiet and sys.stderr.isatty(),
            reuse=not args.each_patient,
        )
    print(
        f"{report.patients} patients: {report.evaluated} evaluated ({report.deceased} deceased), "
        f"{report.nothing_to_evaluate} with nothing to evaluate, {sum(report.failed_by_code.values())} refused; "
        f"{len(report.problems)} unreadable lines, {sum(report.without_patient.values())} resources naming no "
        f"patient of the export; written to {args.out}"
    )
    return 1 if report.failed_by_code or report.problems else 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from kg.batch import _service
    from kg.population.synth import synth_export

    written = synth_export(_service().knowledge, args.count, Path(args.out), seed=args.seed)
    print(f"{args.count} patients written to {args.out}: " + ", ".join(f"{n} {k}" for k, n in written.items()))
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    from kg.store.graph_store import load_release
    from kg.store.release import release_file_ntriples

    password = os.environ.get(PASSWORD_VARIABLE)
    target, stored = load_release(
        args.sparql_endpoint,
        release_file_ntriples(args.release),
        graph_store=args.graph_store,
        user=args.user,
        password=password,
    )
    count, digest = stored.found
    print(
        f"loaded release {stored.version} into {target}: {count} triples, {digest}, read back whole through "
        f"{args.sparql_endpoint}"
    )
    return 0


#: where `load` reads the store password from (never from the command line, which other users can see)
PASSWORD_VARIABLE = "TKG_STORE_PASSWORD"


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (for commands added by other packages too)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=["fast", "owl"], default="fast", help="reasoning engine (default: fast)")
    parser.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="evaluation date: a Bundle's ages, deaths and current records are judged on it (default: today)",
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="therapy-kg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    source_help = "ontology source folder (default: the shipped ontology/)"

    p = sub.add_parser("build", help="check (tables, SHACL, QC queries), classify and write the release")
    p.add_argument("--source", type=Path, default=None, help=source_help)
    p.add_argument("--out", default="therapy-kg-release", help="output folder (default: ./therapy-kg-release)")
    p.add_argument("--no-reason", action="store_true", help="skip the HermiT classification")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser(
        "diff",
        help="what a new release changes: axioms added and removed, and every answer that differs, with its statements",
    )
    p.add_argument("old", help="the old release: a release file (.ttl), a folder holding one, or ontology sources")
    p.add_argument("new", help="the new release, as OLD (a source folder is built first, which needs Java)")
    p.add_argument(
        "--patients",
        action="append",
        default=[],
        metavar="PATH",
        help="a patient file or folder of *.json (patients, FHIR Bundles or vignettes); repeatable "
        "(default: the shipped example patients)",
    )
    p.add_argument(
        "--panel",
        action="store_true",
        help="also a panel of patients generated from both releases (each condition at three ages, with each "
        "candidate cause, with each intervention as current therapy)",
    )
    p.add_argument("--format", choices=["markdown", "html", "json"], default="markdown", help="default: markdown")
    p.add_argument("--out", default=None, help="write the note to this file (default: standard output)")
    _engine_option(p)
    p.set_defaults(func=_cmd_diff)

    p = sub.add_parser("components", help="write each component authored as tables (templates/) as Turtle, for Protégé")
    p.add_argument("--source", type=Path, default=None, help=source_help)
    p.set_defaults(func=_cmd_components)

    p = sub.add_parser("check", help="quality-control report (labels, definitions, header, qc queries)")
    p.add_argument("--source", type=Path, default=None, help=source_help)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("evaluate", help="evaluate a patient JSON, FHIR Bundle or NDJSON file")
    p.add_argument("file", help="patient file (.json, FHIR Bundle .json, or .ndjson); - for stdin")
    _engine_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar for NDJSON input")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("explain", help="the evaluation of one patient as readable text with citations")
    p.add_argument("file", help="patient file (.json or FHIR Bundle .json); - for stdin")
    _engine_option(p)
    p.add_argument("--verbose", action="store_true", help="list each entry of the record that is not used")
    p.set_defaults(func=_cmd_explain)

    p = sub.add_parser(
        "population",
        help="evaluate every patient of a FHIR Bulk Data export: documents (NDJSON), a table and a report",
    )
    p.add_argument("folder", help="the export's folder (Patient.ndjson, Condition.ndjson, …; gzip accepted)")
    p.add_argument("--out", required=True, help="output folder: evaluations.ndjson, table.parquet, report.json")
    p.add_argument("--table", choices=["parquet", "csv"], default="parquet", help="table format (default: parquet)")
    p.add_argument("--as-of", type=_date, default=None, metavar="YYYY-MM-DD", help="evaluation date (default: today)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes evaluating at once (default 1; the output is the same)",
    )
    p.add_argument(
        "--spark",
        nargs="?",
        const="local[*]",
        default=None,
        metavar="MASTER",
        help="run on Apache Spark (pip install 'therapy-kg[spark]'): local[*] by default, or a cluster's master URL; "
        "writes table/ (Parquet, by indication) and evaluations/ (NDJSON parts); with --spark, the folder and "
        "--out may be URLs Spark reads (hdfs://, s3a://, file://)",
    )
    p.add_argument(
        "--each-patient",
        action="store_true",
        help="read and evaluate every patient's Bundle instead of once per fact pattern (slower; the same bytes)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_population)

    p = sub.add_parser("synth", help="write a generated FHIR Bulk Data export (seeded) for population runs")
    p.add_argument("count", type=positive_int, help="how many patients")
    p.add_argument("out", help="output folder (Patient.ndjson, Condition.ndjson, …)")
    p.add_argument("--seed", type=int, default=20261207, help="random seed (default: 20261207)")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser(
        "load",
        help="put the release into a remote SPARQL store's named graph (SPARQL 1.1 Graph Store Protocol) "
        "and check it is there whole",
    )
    p.add_argument("--sparql-endpoint", required=True, metavar="URL", help="the store's SPARQL query endpoint")
    p.add_argument(
        "--graph-store",
        metavar="URL",
        default=None,
        help="its Graph Store Protocol endpoint (default: found from the server's name: Oxigraph server "
        "…/store, Virtuoso …/sparql-graph-crud-auth, Fuseki …/{dataset}/data)",
    )
    p.add_argument(
        "--user", default=None, help=f"a user with write access; the password is read from {PASSWORD_VARIABLE}"
    )
    p.add_argument("--release", type=Path, default=None, help="release Turtle file (default: the committed release)")
    p.set_defaults(func=_cmd_load)

    for command in entry_points(group=COMMANDS):  # e.g. `serve`, added by the api package
        command.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except TherapyKGError as exc:
        print(f"therapy-kg {args.command}: error [{exc.code}]: {exc}", file=sys.stderr)
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
