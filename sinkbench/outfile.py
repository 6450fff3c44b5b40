"""Files a run writes (reports, dead letters): checked before it starts, never replacing what is not a file.

A report path that cannot be written should stop a run before it starts, not
after minutes of running; so commands ask `write_problem()` about every
output path first and name the option or key that gave it.

What "writing a file" means depends on what the path is. A regular file is
replaced whole through a temporary file beside it (a reader never sees half
of it), and a symlink keeps pointing where it did: its target is replaced.
Anything else — a FIFO, a device such as /dev/stdout or /dev/full, or the
very file this process's stdout or stderr goes to — is written in place:
replacing it would swap a pipe or a device for a plain file, or cut the
shell's redirection off.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path


def _stdio_fd(st: os.stat_result) -> int | None:
    """1 or 2 when `st` is the file the process's stdout or stderr writes to."""
    for fd in (1, 2):
        try:
            if os.path.samestat(st, os.fstat(fd)):
                return fd
        except OSError:   # closed
            continue
    return None


def in_place_fd(path: str | os.PathLike[str]) -> tuple[bool, int | None]:
    """(written in place?, the stdio fd to write through, if it is stdout's or stderr's file)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False, None
    fd = _stdio_fd(st)
    return (fd is not None or not stat.S_ISREG(st.st_mode)), fd


def _probe(folder: Path) -> str | None:
    """Whether a file can be created in `folder` (by creating one and removing it: as root,
    `os.access` says yes to read-only places such as /proc)."""
    probe = folder / f".sinkbench-probe.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        return f"cannot create a file in {folder}: {exc.strerror or exc}"
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return None


def write_problem(path: str | os.PathLike[str], *, make_folders: bool = True, append: bool = False) -> str | None:
    """Why `path` cannot be written, or None. Nothing is written or left behind.

    `make_folders`: missing folders on the way would be created (reports do,
    like pytest's --junitxml); without it the folder must exist. `append`: an
    existing file is added to in place (a dead-letter file), not replaced.
    """
    text = os.fspath(path)
    if not text:
        return "the path is empty"
    if "\x00" in text:
        return "the path contains a NUL character"
    try:
        st = os.stat(text)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        return "a part of the path is a file, not a folder"
    except OSError as exc:
        return f"cannot reach it: {exc.strerror or exc}"
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            return "is a folder, not a file"
        if _stdio_fd(st) is not None or not stat.S_ISREG(st.st_mode):
            # Written in place. Not opened here: opening and closing a FIFO would hand its reader an
            # end of file before the report comes.
            return None if os.access(text, os.W_OK) else "not writable (permission denied)"
        if append:
            try:
                os.close(os.open(text, os.O_WRONLY | os.O_APPEND))   # neither truncates nor moves anything
            except OSError as exc:
                return f"cannot write to it: {exc.strerror or exc}"
            return None
        # A regular file is replaced through a temporary file in its real folder (behind any symlink).
        return _probe(Path(os.path.realpath(text)).parent)
    target = Path(os.path.realpath(text))   # a dangling symlink: its target is created
    folder = target.parent
    missing: list[Path] = []
    while not folder.exists():
        if folder.is_symlink():
            return f"{folder} is a broken symlink"
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if missing and not make_folders:
        return f"the folder {missing[0]} does not exist"
    return _probe(folder)


def output_problems(paths: Iterable[tuple[str, str | None]]) -> list[str]:
    """`OPTION PATH: why` for each (option, path) given whose path cannot be written; None paths are not given.

    What a command checks before it runs anything (`run`'s --report/--junit/--summary, and any other).
    """
    problems = []
    for option, path in paths:
        if path is not None:
            problem = write_problem(path)
            if problem:
                problems.append(f"{option} {path}: {problem}")
    return problems


def write_in_place(path: str | os.PathLike[str], data: bytes, fd: int | None = None) -> None:
    """Write `data` to a FIFO, a device or the stdio file `fd`, without truncating or replacing it.

    Through the stdio descriptor itself when the path is stdout's or stderr's file, so the bytes come
    after what the process printed there, at its own offset.
    """
    import sys

    if fd is not None:
        (sys.stdout if fd == 1 else sys.stderr).flush()
        _write_all(fd, data)
        return
    out = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        _write_all(out, data)
    finally:
        os.close(out)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError("the write made no progress")
        view = view[written:]
