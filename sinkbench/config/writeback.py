"""Writing tuned `[plugin_config]` keys (and the runtime's `[[streams]]` keys) back into a connector file,
keeping everything else.

tomlkit edits the parsed document in place, so comments, key order, blank
lines and every other section survive; only the changed values differ, and
the lines of removed keys go (a key reset to its default is removed, so the
default applies; the comments around it stay). The caller shows `diff`
before writing and gets a backup of the original. The diff is for a screen,
so the secrets in it are redacted; the file keeps them.
"""

from __future__ import annotations

import difflib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from sinkbench.config.settings import ALL_KEYS
from sinkbench.errors import InputError, Where
from sinkbench.redact import toml_secrets
from sinkbench.tomlsrc import load_toml

STREAM_KEYS = ("batch_length", "poll_interval")     # runtime keys that live in the connector's [[streams]]


class FileChangedError(OSError):
    """The file is no longer the text the write was planned (and its diff shown) from."""


@dataclass(frozen=True)
class WriteBack:
    path: Path
    old_text: str
    new_text: str

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    @property
    def diff(self) -> str:
        """The unified diff, as shown to the user: secret values redacted (its context lines are the file's
        lines around each change: the URL with its credentials, an Authorization header)."""
        text = "".join(difflib.unified_diff(self.old_text.splitlines(keepends=True),
                                            self.new_text.splitlines(keepends=True),
                                            fromfile=f"{self.path} (current)", tofile=f"{self.path} (tuned)"))
        return toml_secrets(self.old_text, self.new_text).redact(text)


def plan_write_back(path: str | Path, changes: Mapping[str, Any],
                    streams: Mapping[str, Any] | None = None, removals: Iterable[str] = ()) -> WriteBack:
    """The connector file with `changes` applied to `[plugin_config]` (or a bare table).

    `changes` maps plugin_config keys to TOML-able values (durations as strings,
    e.g. "250ms"); `headers.NAME` sets one header. Unknown keys are refused.
    `streams` maps the runtime's keys (`batch_length`, `poll_interval`) to the
    values written into the first `[[streams]]` entry; a file without one is refused.
    `removals` are plugin_config keys (or `headers.NAME`) whose lines go, their
    trailing comment with them; a key the file does not hold is no change.
    """
    src = load_toml(path)
    doc = src.document
    if streams:
        unknown = [k for k in streams if k not in STREAM_KEYS]
        if unknown:
            raise InputError(f"'{unknown[0]}' is not a [[streams]] key sinkbench writes",
                             Where(file=str(path), key=unknown[0]))
        if not set_stream_keys(doc, streams):
            raise InputError(f"no [[streams]] entry to write {', '.join(streams)} into", Where(file=str(path)))
    bare = "plugin_config" not in doc and "url" in doc
    if not bare and "plugin_config" not in doc:
        raise InputError("no [plugin_config] table to write into", Where(file=str(path)))
    table = doc if bare else doc["plugin_config"]
    if not isinstance(table, dict):
        # `plugin_config = 3`: valid TOML, but `key in table` below would raise a TypeError.
        raise InputError("[plugin_config] is not a table", Where(file=str(path), key="plugin_config"))
    for key, value in changes.items():
        top, _, sub = key.partition(".")
        if top not in ALL_KEYS:
            raise InputError(f"'{key}' is not a sink setting", Where(file=str(path), key=key))
        if sub:
            if top != "headers":
                raise InputError(f"'{key}': only headers take a sub-key", Where(file=str(path), key=key))
            if "headers" not in table:
                table["headers"] = tomlkit.table()
            table["headers"][sub] = value
        else:
            _replace(table, top, value)
    for key in removals:
        _remove(table, key, changes, str(path))
    return WriteBack(Path(path), src.text, tomlkit.dumps(doc))


def _remove(table: Any, key: str, changes: Mapping[str, Any], path: str) -> None:
    top, _, sub = key.partition(".")
    if top not in ALL_KEYS:
        raise InputError(f"'{key}' is not a sink setting", Where(file=path, key=key))
    if key in changes:
        raise InputError(f"'{key}' cannot be both set and removed", Where(file=path, key=key))
    if not sub:
        if top in table:
            del table[top]
        return
    if top != "headers":
        raise InputError(f"'{key}': only headers take a sub-key", Where(file=path, key=key))
    headers = table.get("headers")
    if isinstance(headers, dict) and sub in headers:
        del headers[sub]


def has_stream_entry(data: Mapping[str, Any]) -> bool:
    """Whether a connector file's data has a first `[[streams]]` entry to write the runtime's keys into."""
    streams = data.get("streams")
    return isinstance(streams, list) and bool(streams) and isinstance(streams[0], dict)


def set_stream_keys(doc: tomlkit.TOMLDocument, changes: Mapping[str, Any], index: int = 0) -> bool:
    """Set `changes` in the document's `[[streams]]` entry `index`, keeping trailing comments.

    Returns False (and changes nothing) when there is no such entry.
    """
    streams = doc.get("streams")
    if streams is None or not isinstance(streams, list) or len(streams) <= index \
            or not isinstance(streams[index], dict):
        return False
    entry = streams[index]
    for key, value in changes.items():
        _replace(entry, key, value)
    return True


def _replace(table: Any, key: str, value: Any) -> None:
    """Sets `table[key]`, keeping the comment that followed the old value on its line."""
    if key not in table:
        table[key] = value
        return
    old = table[key]
    item = tomlkit.item(value)
    if hasattr(old, "trivia") and hasattr(item, "trivia"):
        item.trivia.comment = old.trivia.comment
        item.trivia.comment_ws = old.trivia.comment_ws
    table[key] = item


def apply_write_back(plan: WriteBack, backup: bool = True) -> Path | None:
    """Writes the planned text atomically; returns the backup's path (FILE.bak, or FILE.bak.N).

    Raises OSError, writing nothing: FileChangedError when the file is no longer the text the plan was made
    from, PermissionError when it is read-only.
    """
    # The replace below swaps in a new file, which only needs the folder to be writable: without these checks
    # an edit made since the diff was shown would be lost, and a file made read-only would be written anyway.
    if plan.path.read_bytes() != plan.old_text.encode("utf-8"):
        raise FileChangedError("the file changed on disk since its diff was made; nothing was written")
    mode = os.stat(plan.path).st_mode
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(plan.path, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only", str(plan.path))
    saved = None
    if backup:
        saved = plan.path.with_name(plan.path.name + ".bak")
        n = 1
        while saved.exists():
            saved = plan.path.with_name(f"{plan.path.name}.bak.{n}")
            n += 1
        shutil.copy2(plan.path, saved)
    fd, tmp = tempfile.mkstemp(prefix=f".{plan.path.name}.", dir=str(plan.path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(plan.new_text)
        shutil.copymode(plan.path, tmp)
        os.replace(tmp, plan.path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return saved
