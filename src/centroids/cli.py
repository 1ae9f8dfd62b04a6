"""The ``centroids`` command: a thin shell over the library (Typer + rich).

Every command calls one library function and prints what it returns. Exit codes: 0 on
success, 2 on bad input (a missing file or column, a bad option, an unknown version),
1 on an unexpected failure (set ``CENTROIDS_DEBUG=1`` to see its traceback).
"""

import json
import math
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ._utils.format import fixed_decimals, readable_number
from .settings import DEFAULT_STORE_URL as DEFAULT_DB

app = typer.Typer(
    name="centroids",
    help=(
        "K-Means segmentation from the command line: from a CSV, Parquet file or database "
        "table to named, stable segments, a report and database rows."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1

DataArgument = Annotated[
    str,
    typer.Argument(
        help="A .csv/.tsv or .parquet file, or a database URL (sqlite:///shop.db#customers, "
        "or the URL with --table).",
        show_default=False,
    ),
]
DbOption = Annotated[
    str, typer.Option("--db", help="The segment store's database URL (SQLite or PostgreSQL).")
]
TableOption = Annotated[
    str | None, typer.Option("--table", help="Table to read when DATA is a database URL.")
]
IdOption = Annotated[
    str | None, typer.Option("--id-column", help="Column of unique row keys (not a feature).")
]
ColumnsOption = Annotated[
    str | None,
    typer.Option("--columns", help="Comma-separated feature columns (default: all but the id)."),
]
ScaleOption = Annotated[
    str, typer.Option("--scale", help="Scaling of numeric columns: standard, robust, minmax, none.")
]
ImputeOption = Annotated[
    str,
    typer.Option(
        "--impute",
        help="Missing numeric values: drop (rows with one left out of the fit; segment "
        "still places them by their observed columns) or median (filled in).",
    ),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed; same seed, same result.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _console(stderr=False):
    stream = sys.stderr if stderr else sys.stdout
    # Piped or captured output gets a fixed, roomy width instead of rich's 80 columns.
    width = None if stream.isatty() else 140
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


class _BadInput(Exception):
    """A user error found by the command itself."""


@contextmanager
def _user_errors():
    """Map the library's user errors to exit code 2, anything else to exit code 1."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except typer.Exit:
        raise
    except BrokenPipeError:
        # The reader went away (`centroids predict ... | head`): stop quietly.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit
        raise typer.Exit(0) from None
    except (_BadInput, ValueError, TypeError, FileNotFoundError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        _console(stderr=True).print(f"[bold red]error:[/] {message}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except SQLAlchemyError as error:
        _console(stderr=True).print(f"[bold red]database error:[/] {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except Exception as error:
        if os.environ.get("CENTROIDS_DEBUG"):
            raise
        _console(stderr=True).print(
            f"[bold red]unexpected failure:[/] {type(error).__name__}: {error}\n"
            "Run again with CENTROIDS_DEBUG=1 to see the traceback."
        )
        raise typer.Exit(EXIT_FAILURE) from None


def _columns(spec):
    if spec is None:
        return None
    columns = [c.strip() for c in spec.split(",") if c.strip()]
    if not columns:
        raise _BadInput("--columns names no column")
    return columns


def _check_choice(value, choices, option):
    if value not in choices:
        raise _BadInput(f"{option} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _read(data, table, columns, id_column):
    from .data.read import read_table

    return read_table(data, table=table, columns=columns, id_column=id_column)


def _json_value(value):
    """``json.dumps``'s fallback: NumPy scalars, times, missing values, anything else as text."""
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, int | float | str | bool):
            return value
    if isinstance(value, list | tuple | dict):
        return value
    return str(value)


def _finite(value):
    """NaN and infinities (not JSON) as null, through nested lists and dicts."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _print_json(payload):
    sys.stdout.write(json.dumps(_finite(payload), default=_json_value, indent=2) + "\n")


def _cell(value):
    """A table cell: integers with thousands separators, floats by
    :func:`centroids._utils.format.readable_number`, missing values as a dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return readable_number(value)


def _frame_table(frame, title=None):
    table = Table(title=title, show_lines=False)
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "iuf" or str(frame[column].dtype) == "Int64"
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(value) for value in row))
    return table


@contextmanager
def _progress_bar(enabled, description):
    """A rich progress bar on stderr; yields ``progress(step, total, message)`` for the
    library's progress callbacks (None when disabled)."""
    if not enabled:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def progress(step, total, message):
            bar.update(task, completed=step, total=total, description=message)

        yield progress


# -- segment -----------------------------------------------------------------------------


KOption = Annotated[
    str, typer.Option("--k", help="Number of segments: auto, N, or a range A-B to choose from.")
]
MissingOption = Annotated[
    str | None,
    typer.Option(
        "--missing",
        help="Missing numeric values: drop (rows left out of the fit, then placed by "
        "their observed columns), impute (column median), kpod or masked (clustered "
        "with their holes). Every row gets a segment. Default: --impute's choice.",
    ),
]
WriteBackOption = Annotated[
    str | None,
    typer.Option(
        "--write-back",
        help="TABLE.KEY:SEGMENT_COLUMN of the --db database to update with segment ids.",
    ),
]
LabelsOutOption = Annotated[
    Path | None, typer.Option("--out", help="Labels file to write (.csv or .parquet).")
]
ReportOption = Annotated[
    Path | None, typer.Option("--report", help="Self-contained HTML report to write.")
]
MixedOption = Annotated[
    bool,
    typer.Option(
        "--mixed",
        help="K-Prototypes instead of K-Means: categorical columns as they are "
        "(segment profile: their modes) instead of one-hot means. Needs a categorical "
        "column.",
    ),
]
PromoteOption = Annotated[
    bool,
    typer.Option(
        "--promote",
        help="Serve the new version (centroids serve, SQL scoring of the served "
        "version), promoted in the transaction that saves it.",
    ),
]
MinSizeOption = Annotated[
    str | None,
    typer.Option(
        "--min-size",
        help="Fewest rows in every segment: a count (500) or a share of the rows "
        "(0.05 = 5%). Fits K-Means under size bounds; stored with the version.",
    ),
]
MaxSizeOption = Annotated[
    str | None,
    typer.Option(
        "--max-size",
        help="Most rows in every segment: a count or a share of the rows (0.3).",
    ),
]
DaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Segment DATA, a directory of Parquet files, on Dask: 'local' or a "
        "scheduler address (tcp://host:8786). Needs --id-column; --out is then a "
        "directory; assignments are written a transaction per partition.",
    ),
]


@app.command()
def segment(
    data: DataArgument,
    table: TableOption = None,
    id_column: IdOption = None,
    columns: ColumnsOption = None,
    k: KOption = "auto",
    scale: ScaleOption = "standard",
    impute: ImputeOption = "drop",
    missing: MissingOption = None,
    db: DbOption = DEFAULT_DB,
    write_back: WriteBackOption = None,
    out: LabelsOutOption = None,
    report: ReportOption = None,
    seed: SeedOption = 0,
    json_output: JsonOption = False,
    mixed: MixedOption = False,
    promote: PromoteOption = False,
    min_size: MinSizeOption = None,
    max_size: MaxSizeOption = None,
    dask_scheduler: DaskOption = None,
):
    """Find segments in DATA, store them as a new version with stable ids, write outputs.

    Reads and checks the data, prepares it (scaling, one-hot encoding of categorical
    columns, missing values), chooses K, fits K-Means (K-Prototypes with --mixed),
    diagnoses the result, names the segments, saves a version in the store (segment ids
    matched to the previous version's), and writes labels, the report and the write-back.

    Example:

        centroids segment customers.csv --id-column customer_id --report report.html

        centroids segment customers/ --dask tcp://scheduler:8786 --id-column customer_id
    """
    with _user_errors():
        segment_function, options = _segment_function(
            scale, impute, missing, dask_scheduler, table, min_size, max_size
        )
        with _optional_extra(), _progress_bar(not json_output, "segmenting") as progress:
            run = segment_function(
                data,
                **options,
                id_column=id_column,
                columns=_columns(columns),
                k=k,
                scale=scale,
                impute=impute,
                missing=missing,
                promote=promote,
                db=db,
                write_back=write_back,
                out=out,
                report=report,
                random_state=seed,
                progress=progress,
                mixed=mixed,
            )
        if json_output:
            _print_json(_run_payload(run))
        else:
            _print_run(run)


def _segment_function(scale, impute, missing, dask_scheduler, table, min_size, max_size):
    """The flags of ``centroids segment`` checked: the function that segments (in memory or
    on Dask) and the options only it takes."""
    from .segments.pipeline import segment_data

    _check_choice(scale, ("standard", "robust", "minmax", "none"), "--scale")
    _check_choice(impute, ("drop", "median"), "--impute")
    if missing is not None:
        from .data.prepare import MISSING_POLICIES

        _check_choice(missing, MISSING_POLICIES, "--missing")
    if dask_scheduler is not None and table is not None:
        raise _BadInput("--dask reads a directory of Parquet files; --table does not apply")
    bounds = {
        "size_min": _size_option(min_size, "--min-size"),
        "size_max": _size_option(max_size, "--max-size"),
    }
    if dask_scheduler is not None and (min_size is not None or max_size is not None):
        raise _BadInput("--min-size / --max-size do not apply with --dask")
    if dask_scheduler is not None:
        from .segments.dask_segment import segment_dask

        return segment_dask, {"scheduler": dask_scheduler}
    return segment_data, {"table": table, **bounds}


def _size_option(text, flag):
    """``--min-size`` / ``--max-size``: a whole number counts rows, a decimal is a share."""
    if text is None:
        return None
    value = text.strip()
    try:
        count = int(value)
    except ValueError:
        pass
    else:
        if count < 0:
            raise _BadInput(f"{flag} {text} must be a count of rows >= 0 or a share in (0, 1]")
        return count
    try:
        share = float(value)
    except ValueError:
        raise _BadInput(
            f"{flag} must be a number of rows (500) or a share of the rows (0.05); got {text!r}"
        ) from None
    if share != share or not 0 < share <= 1:
        raise _BadInput(
            f"{flag} {text}: a share of the rows must be in (0, 1]; a count of rows is a "
            "whole number"
        )
    return share


@contextmanager
def _optional_extra():
    """A missing optional extra (``centroids[dask]``) is a user error: say what to install."""
    try:
        yield
    except ImportError as error:
        raise _BadInput(str(error)) from None


def _run_payload(run):
    metrics = run.segmentation.metrics_
    partitions = run.partitions
    return {
        "version": run.version.version,
        "store": run.store_url,
        "rows": run.n_rows,
        "rows_dropped": run.n_dropped,
        "missing": run.missing,
        "rows_with_missing_values": run.n_rows_with_holes,
        "size_bounds": None
        if run.size_bounds is None
        else {"min_rows": run.size_bounds[0], "max_rows": run.size_bounds[1]},
        "k": len(run.version.segment_ids),
        "k_reason": getattr(run.choice, "reason", None),
        "structure": getattr(run.choice, "verdict", None),
        "metrics": {
            name: metrics.get(name)
            for name in ("silhouette", "davies_bouldin", "calinski_harabasz")
        },
        "segments": run.segments.to_dict(orient="records"),
        "born": list(run.version.born),
        "retired": list(run.version.retired),
        "findings": [f.to_dict(("code", "severity", "title")) for f in run.diagnosis.findings],
        "labels": str(run.labels_path) if run.labels_path else None,
        "report": str(run.report_path) if run.report_path else None,
        "write_back": None
        if run.write_back is None
        else {"table": run.write_back.table, "rows_changed": run.write_back.rows_changed},
        **(
            {}
            if partitions is None
            else {
                "partitions": partitions.n_partitions,
                "rows_assigned": partitions.n_rows - partitions.n_unplaced,
                "rows_unplaced": partitions.n_unplaced,
                "keys_not_found": partitions.keys_not_found,
            }
        ),
    }


def _print_run(run):
    console = _console()
    metrics = run.segmentation.metrics_
    segments = run.segments.copy()
    segments["share"] = (segments["share"] * 100).round(1).astype(str) + "%"
    console.print(_frame_table(segments, title=f"Segments (version {run.version.version})"))
    if run.choice is not None:
        console.print(f"K: {run.choice.reason}")
        console.print(f"Structure: {run.choice.verdict}")
    console.print(
        f"Quality: silhouette {fixed_decimals(metrics.get('silhouette'), 3)}, Davies-Bouldin "
        f"{fixed_decimals(metrics.get('davies_bouldin'), 3)}, Calinski-Harabasz "
        f"{fixed_decimals(metrics.get('calinski_harabasz'), 0)}"
    )
    console.print(
        f"Rows: {run.n_rows:,} read"
        + (f", {run.n_dropped:,} left out of the fit" if run.n_dropped else "")
    )
    console.print(
        f"Missing values: {run.n_rows_with_holes:,} row(s) had one; --missing "
        f"{run.missing}, every row with a value got a segment"
    )
    if run.size_bounds is not None:
        lo, hi = run.size_bounds
        low = "no lower bound" if lo is None else f"at least {lo:,}"
        high = "no upper bound" if hi is None else f"at most {hi:,}"
        console.print(
            f"Size bounds: every segment holds {low} and {high} rows of the fit "
            f"(smallest {int(run.segments['rows'].min()):,}, largest "
            f"{int(run.segments['rows'].max()):,}); stored with version {run.version.version}"
        )
    if run.version.parent_version is not None:
        console.print(
            f"Segment ids matched to version {run.version.parent_version}: "
            f"{len(run.version.continued)} continued, born {list(run.version.born) or 'none'}, "
            f"retired {list(run.version.retired) or 'none'}"
        )
    findings = [f for f in run.diagnosis.findings if str(f.severity) != "info"]
    if findings:
        console.print("Diagnostics:")
        for finding in findings:
            console.print(f"  [{str(finding.severity).upper()}] {finding.title}")
    else:
        console.print("Diagnostics: no warning")
    console.print(f"Store: {run.store_url} (version {run.version.version})")
    if run.partitions is not None:
        console.print(
            f"Assignments: {run.partitions.n_rows - run.partitions.n_unplaced:,} rows in "
            f"{run.partitions.n_partitions} partitions, a transaction each"
        )
    if run.write_back is not None:
        console.print(
            f"Write-back: {run.write_back.rows_changed:,} rows of {run.write_back.table} updated"
        )
    if run.labels_path is not None:
        console.print(f"Labels: {run.labels_path}")
    if run.report_path is not None:
        console.print(f"Report: {run.report_path}")


# -- predict -----------------------------------------------------------------------------


VersionOption = Annotated[
    str, typer.Option("--version", help="Stored version to use: latest or a number.")
]
PredictOutOption = Annotated[
    Path | None, typer.Option("--out", help="Write the labels here (.csv or .parquet).")
]
JsonLinesOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object per row (JSON Lines).")
]
PredictDaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Score DATA, a directory of Parquet files, on Dask: 'local' or a scheduler "
        "address (tcp://host:8786); a task per partition, --out is then a directory.",
    ),
]
PredictWriteBackOption = Annotated[
    str | None,
    typer.Option(
        "--write-back",
        help="With --dask: TABLE.KEY:SEGMENT_COLUMN of the --db database to update, "
        "one transaction per partition.",
    ),
]


@app.command()
def predict(
    data: DataArgument,
    version: VersionOption = "latest",
    table: TableOption = None,
    id_column: IdOption = None,
    db: DbOption = DEFAULT_DB,
    out: PredictOutOption = None,
    json_output: JsonLinesOption = False,
    dask_scheduler: PredictDaskOption = None,
    write_back: PredictWriteBackOption = None,
):
    """Segment ids and names of new rows, with a stored version's model.

    Example:

        centroids predict new_customers.csv --id-column customer_id --json

        centroids predict customers/ --dask tcp://scheduler:8786 --id-column customer_id
        --write-back customers.customer_id:segment
    """
    from ._utils.files import write_table
    from .store import SegmentStore

    if dask_scheduler is not None or write_back is not None:
        return _predict_on_dask(
            data, dask_scheduler, version, id_column, db, out, write_back, json_output
        )
    with _user_errors():
        wanted = None if version == "latest" else _version_number(version)
        frame = _read(data, table, None, id_column)
        with SegmentStore(db) as store:
            scored = store.predict_with_distance(frame, wanted)
            names = store.segments()["name"]
        key = id_column or "row"
        keys = frame[id_column].to_numpy() if id_column else range(len(frame))
        import pandas as pd

        labels = pd.DataFrame(
            {
                key: list(keys),
                "segment_id": scored["segment_id"].array,
                "segment_name": scored["segment_id"].map(names).to_numpy(),
                "distance": scored["distance"].to_numpy(),
            }
        )
        if out is not None:
            write_table(labels, out)
        _print_labels(labels, json_output)


def _print_labels(labels, json_output):
    """The labels of ``centroids predict``: JSON Lines, or a table of the first 50 rows."""
    if json_output:
        records = labels.astype(object).where(labels.notna(), None)
        for record in records.to_dict(orient="records"):
            sys.stdout.write(json.dumps(record, default=_json_value) + "\n")
    else:
        _console().print(_frame_table(labels.head(50), title=f"{len(labels):,} rows"))
        if len(labels) > 50:
            _console().print(f"... {len(labels) - 50:,} more (use --out or --json)")


def _predict_on_dask(data, scheduler, version, id_column, db, out, write_back, json_output):
    """``centroids predict DIR --dask``: see :mod:`centroids.segments.dask_assign`."""
    from .segments.dask_assign import assign_parquet_partitions
    from .segments.pipeline import parse_write_back

    with _user_errors():
        if scheduler is None:
            raise _BadInput("--write-back needs --dask (and DATA a directory of Parquet files)")
        if id_column is None:
            raise _BadInput("--dask needs --id-column: the key of every scored row")
        with _optional_extra():
            result = assign_parquet_partitions(
                data,
                scheduler=scheduler,
                db=db,
                id_column=id_column,
                version=None if version == "latest" else _version_number(version),
                write_back=None if write_back is None else parse_write_back(write_back),
                out=out,
            )
        payload = {
            "version": result.version,
            "partitions": result.n_partitions,
            "rows": result.n_rows,
            "rows_unplaced": result.n_unplaced,
            "rows_changed": result.rows_changed,
            "keys_not_found": result.keys_not_found,
            "out": None if result.out is None else str(result.out),
        }
        if json_output:
            _print_json(payload)
        else:
            _console().print(
                f"{result.n_rows:,} rows in {result.n_partitions} partitions scored with "
                f"version {result.version}"
                + ("" if result.rows_changed is None else f", {result.rows_changed:,} changed")
                + ("" if result.out is None else f"; labels in {result.out}")
            )


def _version_number(text):
    try:
        number = int(text)
    except ValueError:
        raise _BadInput(f"--version must be 'latest' or a number, got {text!r}") from None
    if number < 1:
        raise _BadInput(f"--version must be 1 or more, got {number}")
    return number


# -- choose-k and diagnose -----------------------------------------------------------------


@app.command("choose-k")
def choose_k_command(
    data: DataArgument,
    k: Annotated[str, typer.Option("--k", help="The range of K to compare, A-B.")] = "2-10",
    table: TableOption = None,
    id_column: IdOption = None,
    columns: ColumnsOption = None,
    scale: ScaleOption = "standard",
    impute: ImputeOption = "drop",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Save the K selection figure (.png or .svg).")
    ] = None,
    seed: SeedOption = 0,
    json_output: JsonOption = False,
):
    """Compare numbers of segments: inertia, silhouette, Davies-Bouldin, gap, stability.

    Example:

        centroids choose-k customers.csv --id-column customer_id --k 2-12 --plot k.png
    """
    from .data.prepare import Preparation
    from .evaluate.choose_k import choose_k
    from .segments.pipeline import parse_k

    with _user_errors():
        k_range = parse_k(k)
        if isinstance(k_range, int) or k_range == "auto":
            k_range = range(2, 11) if k_range == "auto" else range(2, max(3, k_range) + 1)
        frame = _read(data, table, _columns(columns), id_column)
        preparation = Preparation(
            columns=_columns(columns), id_column=id_column, scale=scale, missing=impute
        )
        Z = preparation.fit_transform(frame)
        with _progress_bar(not json_output, "choosing K") as progress:
            result = choose_k(Z, k_range, random_state=seed, progress=progress)
        if plot is not None:
            from ._utils.files import replaced_atomically
            from .report.plots import plot_k_selection

            figure = plot_k_selection(result)
            with replaced_atomically(plot) as tmp:
                figure.savefig(tmp, dpi=110)
        if json_output:
            _print_json(result.to_dict())
        else:
            _console().print(result.summary(), markup=False)
            if plot is not None:
                _console().print(f"Figure: {plot}")


@app.command()
def diagnose(
    data: DataArgument,
    k: Annotated[
        int | None, typer.Option("--k", help="Clusters of the model to examine (default 8).")
    ] = None,
    table: TableOption = None,
    id_column: IdOption = None,
    columns: ColumnsOption = None,
    seed: SeedOption = 0,
    json_output: JsonOption = False,
):
    """Check data and a K-Means model for the usual problems, and say what to do.

    Looks at the data as given (so unscaled features are reported): scales, outliers,
    cluster sizes, shapes K-Means cannot capture, categorical columns, duplicates,
    constant columns, convergence and stability.

    Example:

        centroids diagnose customers.csv --id-column customer_id --k 5
    """
    from .evaluate.diagnose import diagnose as run_diagnosis

    with _user_errors():
        frame = _read(data, table, _columns(columns), id_column)
        features = frame.drop(columns=[id_column]) if id_column else frame
        result = run_diagnosis(features, n_clusters=k, random_state=seed)
        if json_output:
            _print_json(result.to_dict())
        else:
            _console().print(str(result), markup=False)


# -- the store -----------------------------------------------------------------------------


@app.command()
def versions(db: DbOption = DEFAULT_DB, json_output: JsonOption = False):
    """List the stored versions.

    Example:

        centroids versions --db sqlite:///segments.db
    """
    from .store import SegmentStore

    with _user_errors(), SegmentStore(db) as store:
        frame = store.versions()
        if json_output:
            _print_json(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))
        elif frame.empty:
            _console().print(f"No version stored in {store.url.render_as_string(True)} yet.")
        else:
            wanted = ("version", "created_at", "n_clusters", "n_rows", "note")
            shown = [c for c in wanted if c in frame]
            _console().print(_frame_table(frame[shown or list(frame.columns)], title="Versions"))


#: What ``centroids drift --json`` prints of :meth:`Drift.to_dict`.
_DRIFT_JSON_KEYS = (
    "from_version",
    "to_version",
    "records_compared",
    "records_changed",
    "born",
    "retired",
    "sizes",
)


@app.command()
def drift(
    version_a: Annotated[int, typer.Argument(help="The earlier version.", show_default=False)],
    version_b: Annotated[int, typer.Argument(help="The later version.", show_default=False)],
    db: DbOption = DEFAULT_DB,
    json_output: JsonOption = False,
):
    """How segments changed between two versions: records, sizes, centers, births, retirements.

    Example:

        centroids drift 1 2
    """
    from .store import SegmentStore

    with _user_errors(), SegmentStore(db) as store:
        result = store.drift(version_a, version_b)
        if json_output:
            everything = result.to_dict()
            _print_json({key: everything[key] for key in _DRIFT_JSON_KEYS})
        else:
            _console().print(result.to_text(), markup=False)


@app.command()
def name(
    segment_id: Annotated[int, typer.Argument(help="The segment's stable id.", show_default=False)],
    new_name: Annotated[str, typer.Argument(help="The new name.", show_default=False)],
    description: Annotated[
        str | None, typer.Option("--description", help="A longer description.")
    ] = None,
    db: DbOption = DEFAULT_DB,
):
    """Name a segment; the name stays with its id across retraining.

    Example:

        centroids name 3 "loyal high spenders" --description "top decile of spend"
    """
    from .store import SegmentStore

    with _user_errors(), SegmentStore(db) as store:
        store.rename(segment_id, new_name, description=description)
        _console().print(f"Segment {segment_id} is now named {new_name!r}.")


# -- images --------------------------------------------------------------------------------


@app.command()
def quantize(
    image: Annotated[Path, typer.Argument(help="The image file.", show_default=False)],
    colors: Annotated[int, typer.Option("--colors", help="Palette size.")] = 16,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Quantized image to write (.png, .jpg).")
    ] = Path("quantized.png"),
    palette: Annotated[
        Path | None, typer.Option("--palette", help="Also save the palette as a swatch image.")
    ] = None,
    seed: SeedOption = 0,
    json_output: JsonOption = False,
):
    """Redraw an image with a few colours found by k-means (colour quantization).

    Example:

        centroids quantize photo.jpg --colors 16 -o photo16.png --palette swatch.png
    """
    from .apps.quantize import quantize_image

    with _user_errors():
        result = quantize_image(image, colors, random_state=seed)
        result.save(output)
        if palette is not None:
            result.save_swatch(palette)
        shares = result.counts / result.counts.sum()
        if json_output:
            _print_json(
                {
                    "output": str(output),
                    "palette": [
                        {"color": c, "share": float(s)}
                        for c, s in zip(result.hex_colors, shares, strict=True)
                    ],
                    "mean_squared_error": result.mean_squared_error,
                }
            )
        else:
            listing = Table(title=f"{colors} colours")
            listing.add_column("colour")
            listing.add_column("hex")
            listing.add_column("share", justify="right")
            for hex_color, share in zip(result.hex_colors, shares, strict=True):
                listing.add_row(f"[on {hex_color}]      [/]", hex_color, f"{share:.1%}")
            console = _console()
            console.print(listing)
            console.print(f"Image: {output}" + (f"; palette: {palette}" if palette else ""))


# -- documents -----------------------------------------------------------------------------


DocumentsArgument = Annotated[
    Path,
    typer.Argument(
        help="Documents: CSV/TSV, Parquet, JSON lines or JSON, or plain text (a line each).",
        show_default=False,
    ),
]
TextColumnOption = Annotated[
    str | None,
    typer.Option("--text-column", help="Column holding the text (tables and JSON)."),
]
TopicsOption = Annotated[int, typer.Option("--k", help="Number of clusters (topics).")]
TopicsOutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Labels file to write (.csv or .parquet): cluster, similarity."),
]
TopTermsOption = Annotated[
    int, typer.Option("--top-terms", help="Distinctive terms listed per cluster.")
]
MaxFeaturesOption = Annotated[
    int, typer.Option("--max-features", help="Largest vocabulary kept (most frequent terms).")
]
BigramsOption = Annotated[bool, typer.Option("--bigrams", help="Count word pairs as terms too.")]


@app.command()
def documents(
    file: DocumentsArgument,
    text_column: TextColumnOption = None,
    k: TopicsOption = 8,
    out: TopicsOutOption = None,
    top_terms: TopTermsOption = 10,
    max_features: MaxFeaturesOption = 50_000,
    bigrams: BigramsOption = False,
    seed: SeedOption = 0,
    json_output: JsonOption = False,
):
    """Cluster documents by topic: TF-IDF, spherical k-means, the top terms of each cluster.

    Example:

        centroids documents tickets.csv --text-column body --k 12 --out topics.csv
    """
    from .apps.documents import cluster_documents, read_documents

    with _user_errors():
        if k < 1:
            raise _BadInput(f"--k must be at least 1, got {k}")
        if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
            raise _BadInput(f"--out must be a .csv or .parquet file, got {str(out)!r}")
        texts = read_documents(file, text_column)
        result = cluster_documents(
            texts,
            k,
            max_features=max_features,
            ngram_range=(1, 2) if bigrams else (1, 1),
            n_top_terms=top_terms,
            random_state=seed,
        )
        if out is not None:
            from ._utils.files import write_table

            write_table(result.to_frame().reset_index(), out)
        _print_documents(texts, result, k, out, json_output)


def _print_documents(texts, result, k, out, json_output):
    """What ``centroids documents`` found: JSON, or a table of the clusters' top terms."""
    clusters = [
        {"cluster": c, "documents": int(size), "top_terms": list(terms)}
        for c, (size, terms) in enumerate(zip(result.sizes, result.top_terms, strict=True))
    ]
    if json_output:
        _print_json(
            {
                "documents": len(texts),
                "empty_dropped": int(texts.attrs.get("n_dropped_empty", 0)),
                "unclustered": int(result.n_unclustered),
                "clusters": clusters,
                "labels": str(out) if out is not None else None,
            }
        )
    else:
        listing = Table(title=f"{len(texts):,} documents in {k} clusters")
        listing.add_column("cluster", justify="right")
        listing.add_column("documents", justify="right")
        listing.add_column("top terms")
        for cluster in clusters:
            listing.add_row(
                str(cluster["cluster"]),
                f"{cluster['documents']:,}",
                ", ".join(cluster["top_terms"]),
            )
        console = _console()
        console.print(listing)
        if result.n_unclustered:
            console.print(
                f"{result.n_unclustered:,} documents share no term with the vocabulary "
                "(cluster -1)."
            )
        if out is not None:
            console.print(f"Labels: {out}")


# -- serve -------------------------------------------------------------------------------


@app.command()
def serve(
    db: DbOption = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option("--cors-origin", help="Browser origin allowed to call (repeat; none: off)."),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning.")] = "info",
):
    """Serve the store's segments over HTTP (Open Inference Protocol V2, /invocations).

    Writes (rename, promote, retrain) need the bearer token in the environment variable
    CENTROIDS_TOKEN or in the file named by CENTROIDS_TOKEN_FILE; without one they are
    refused. The explorer page is at /, the API's schema at /docs.

    Example:

        CENTROIDS_TOKEN_FILE=/run/secrets/token centroids serve --db sqlite:///segments.db
    """
    with _user_errors():
        _check_choice(log_level, ("debug", "info", "warning", "error"), "--log-level")
        try:
            from .serve import serve as run_service
        except ImportError as error:
            raise _BadInput(
                f"centroids serve needs the serve extra ({error.name} is missing): "
                "pip install 'centroids[serve]'"
            ) from None
        run_service(db, host=host, port=port, cors_origins=cors_origin or (), log_level=log_level)


@app.command()
def warmup(
    fits_only: Annotated[
        bool,
        typer.Option("--fits-only", help="Compile the KMeans fits only, not the segment job."),
    ] = False,
):
    """Compile the common kernels now, into numba's cache, so first calls do not wait.

    A fresh install compiles each numba kernel on its first use (tens of seconds on the
    first fit). This runs KMeans fits and the segment job once on small generated data
    and leaves their compiled kernels in numba's on-disk cache (NUMBA_CACHE_DIR, or
    __pycache__ beside the installed kernels); `make demo` runs it after installing.

    Example:

        centroids warmup
    """
    from .warmup import warm_up

    console = _console()
    started = time.perf_counter()
    warm_up(segment=not fits_only, log=console.print)
    console.print(f"Kernels compiled and cached in {time.perf_counter() - started:.0f} s.")


def main():
    """Entry point of the ``centroids`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
