"""Writing a report file so that a reader never sees half of it, and nothing but a file is replaced.

What counts as written in place (a FIFO, a device, the file stdout goes to)
is decided in `sinkbench.outfile`, which also checks paths before a run.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sinkbench.outfile import in_place_fd, write_in_place


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path`: a regular file through a temporary file in its folder, then rename.

    An interrupted run leaves either the old file or the new one, never a
    truncated one. A symlink is written through (its target is replaced,
    the link stays); a FIFO or a device (/dev/stdout, /dev/full) is written
    in place, never replaced. Missing parent folders are created (like
    pytest's `--junitxml`). The file gets the usual permissions (0666 less
    the umask): the temporary file is created with `os.open`, which applies
    the umask, rather than `mkstemp`, which would leave it at 0600.
    """
    in_place, fd = in_place_fd(path)
    if in_place:
        write_in_place(path, data, fd)
        return
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd_tmp = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd_tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append `text` to `path` (created if missing), separated from earlier content by a blank line.

    For files that others write to as well, such as `$GITHUB_STEP_SUMMARY`,
    whose protocol is appending; replacing it would erase what earlier
    commands of the same step wrote. A FIFO or a device just gets the text.
    """
    in_place, fd = in_place_fd(path)
    if in_place:
        write_in_place(path, text.encode(), fd)
        return
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a+b") as f:
        data = text.encode()
        if f.seek(0, os.SEEK_END) > 0:
            f.seek(-1, os.SEEK_END)
            data = (b"\n" if f.read(1) == b"\n" else b"\n\n") + data
        f.write(data)
