"""tools/real-iggy/build --check finds a built stack from a clone made away from the Iggy source."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

BUILD = Path(__file__).resolve().parent.parent / "tools" / "real-iggy" / "build"
FILES = ("iggy-server", "iggy-connectors", "libiggy_connector_http_sink.so", "server-config.toml")


def build(checkout: Path, cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SINKBENCH_IGGY_")}
    return subprocess.run(["bash", str(checkout / "tools" / "real-iggy" / "build"), *args], capture_output=True,
                          text=True, env={**base, "SINKBENCH_IGGY_CACHE": str(cache), **env}, timeout=60)


def check(checkout: Path, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return build(checkout, cache, "--check", **env)


def test_a_clone_without_the_source_beside_it_uses_the_source_the_build_remembered(tmp_path: Path) -> None:
    source = tmp_path / "elsewhere" / "iggy"
    (source / "core" / "server").mkdir(parents=True)
    (source / "Cargo.toml").write_text("[workspace]\n")
    (source / "Cargo.lock").write_text("version = 4\n")
    (source / "core" / "server" / "config.toml").write_text("")
    checkout = tmp_path / "clone"            # no ../shared/iggy beside it
    (checkout / "tools" / "real-iggy").mkdir(parents=True)
    shutil.copy(BUILD, checkout / "tools" / "real-iggy" / "build")
    cache = tmp_path / "cache"

    first = check(checkout, cache, SINKBENCH_IGGY_SRC=str(source))
    assert first.returncode == 1
    out = Path(re.search(r"expected the files in (\S+)\)", first.stderr).group(1))
    out.mkdir(parents=True)
    for name in FILES:
        (out / name).write_text("")
    assert check(checkout, cache, SINKBENCH_IGGY_SRC=str(source)).stdout.strip() == str(out)

    alone = check(checkout, cache)
    assert alone.returncode == 1 and "no Iggy source" in alone.stderr

    # A build (here one that finds the stack built already: no cargo runs) remembers its source.
    assert build(checkout, cache, SINKBENCH_IGGY_SRC=str(source)).returncode == 0
    found = check(checkout, cache)
    assert (found.returncode, found.stdout.strip()) == (0, str(out))

    (source / "Cargo.lock").write_text("version = 4\n# another snapshot\n")
    assert check(checkout, cache).returncode == 1     # remembered, but not built for what it holds now
