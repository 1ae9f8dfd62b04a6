"""Files written whole or not at all."""

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def replaced_atomically(path):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    Whatever the body writes to the temporary path appears at ``path`` in one rename
    (atomic on POSIX), so a reader never sees half a file and a failure leaves any
    earlier file at ``path`` untouched. On error the temporary file is removed.
    The temporary name keeps ``path``'s suffixes, so writers that pick a format from
    the name (pandas, Pillow, matplotlib) still do.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with replaced_atomically(target) as tmp:
    ...     _ = tmp.write_text("all of it")
    >>> target.read_text()
    'all of it'
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name to write")
    if not path.parent.exists():
        raise ValueError(f"Can't write {path}: the folder {path.parent} does not exist")
    fd, name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix="".join(path.suffixes) or ".tmp", dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_table(frame, path):
    """Write a DataFrame as ``.parquet`` (by its suffix) or CSV, without its index, whole or
    not at all; returns the path."""
    path = Path(path)
    with replaced_atomically(path) as tmp:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return path
