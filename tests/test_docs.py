"""The reference in docs/ keeps up with the code, and nothing user-facing points elsewhere.

Each key set checked here is the one the code itself accepts (the loaders' own
tuples), so a key added to a loader without a line in docs/ fails a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path

import pytest

from sinkbench.cli import COMMANDS, build_parser
from sinkbench.config.settings import ALL_KEYS, ENHANCED_KEYS, IGGY_KEYS
from sinkbench.endpoint import settings as endpoint_settings
from sinkbench.metrics.expect import (
    AGGREGATIONS,
    COUNT_METRICS,
    DISTRIBUTION_METRICS,
    DURATION_METRICS,
    OPERATORS,
)
from sinkbench.metrics.histogram import Histogram
from sinkbench.model import HeaderKind, Schema
from sinkbench.scenario.load import RUNTIME_KEYS, SCENARIO_KEYS, SECTIONS, SOURCE_KEYS
from sinkbench.sources.lines import HEADER_KEYS, LINE_KEYS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The internal design notes are not shipped; a pointer to them is a dead end for a user.
INTERNAL = re.compile(r"DESIGN(\.md|\s*§)")


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _mentions(text: str, key: str) -> bool:
    """`key` written as code: `key`, `key = ...`, `[key]`, or a dotted `section.key`."""
    return re.search(rf"`(?:[\w.\[\]]*\.)?{re.escape(key)}(?:`| =|\])", text) is not None


def _user_facing_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*"))]
    for suffix in ("*.py", "*.tcss", "*.toml", "*.md", "*.txt"):
        files += sorted((ROOT / "sinkbench").rglob(suffix))
    return [f for f in files if f.is_file()]


def test_nothing_user_facing_points_to_the_internal_design_notes():
    offenders = []
    for path in _user_facing_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if INTERNAL.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "cite a docs/ page instead:\n" + "\n".join(offenders)


def test_the_internal_design_check_catches_both_spellings():
    assert INTERNAL.search("see DESIGN.md §4") and INTERNAL.search("(DESIGN §7)")
    assert not INTERNAL.search("see docs/endpoint.md") and not INTERNAL.search("DESIGNER")


def test_every_scenario_key_the_loader_accepts_is_documented():
    text = _read("scenario.md") + _read("sink.md")
    keys = {*SCENARIO_KEYS, *RUNTIME_KEYS, *ALL_KEYS, "connector"}
    for kind, source_keys in SOURCE_KEYS.items():
        keys.update(source_keys)
        assert f'`kind = "{kind}"`' in text, f"source kind {kind!r} is not documented"
    missing = sorted(k for k in keys if not _mentions(text, k))
    assert not missing, f"keys the scenario loader accepts but docs/scenario.md and docs/sink.md never name: {missing}"
    missing_sections = [s for s in SECTIONS if f"`[{s}]`" not in _read("scenario.md")]
    assert not missing_sections, f"sections missing from docs/scenario.md: {missing_sections}"


def test_every_sink_key_is_in_the_sink_tables_with_its_profile():
    text = _read("sink.md")
    iggy_table = text.split("## The Iggy keys", 1)[1].split("\n## ", 1)[0]
    enhanced_table = text.split("## The enhanced profile", 1)[1].split("\n## ", 1)[0]
    assert [k for k in IGGY_KEYS if f"| `{k}` |" not in iggy_table] == []
    assert [k for k in ENHANCED_KEYS if f"| `{k}` |" not in enhanced_table and f"`{k}`," not in enhanced_table] == []


def test_every_endpoint_key_and_action_is_documented():
    text = _read("endpoint.md")
    keys = {*endpoint_settings._TOP_KEYS, *endpoint_settings._FAULT_KEYS, *endpoint_settings._RATE_KEYS,
            *endpoint_settings.ACTIONS, *endpoint_settings.DISTRIBUTIONS}
    assert sorted(k for k in keys if not _mentions(text, k)) == []
    for action in endpoint_settings.ACTIONS:
        assert f"| `{action}` |" in text, f"action {action!r} has no row in the actions table"


def test_every_metric_aggregation_and_operator_is_documented():
    text = _read("scenario.md")
    for metric in (*COUNT_METRICS, *DURATION_METRICS, *DISTRIBUTION_METRICS, "status.<code>"):
        assert f"| `{metric}` |" in text, f"metric {metric!r} has no row in docs/scenario.md"
    assert [a for a in AGGREGATIONS if f"`{a}`" not in text] == []
    assert [op for op in OPERATORS if f"`{op}`" not in text] == []


def test_every_stream_line_key_schema_and_header_kind_is_documented():
    text = _read("streams.md")
    assert sorted(k for k in (*HEADER_KEYS, *LINE_KEYS) if not _mentions(text, k)) == []
    assert [s.value for s in Schema if f"`{s.value}`" not in text] == []
    assert [k.value for k in HeaderKind if f"`{k.value}`" not in text] == []


def _results_fixture():
    spec = importlib.util.spec_from_file_location("_report_results", ROOT / "tests" / "report" / "results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_json_report_key_is_documented():
    text = _read("reports.md")
    report = _results_fixture().failing_run().to_json()
    keys = {*report, *report["totals"], *report["settings"], *Histogram().summary()}
    for row in report["timeline"]:
        keys.update(row)
    for expectation in report["expectations"]:
        keys.update(expectation)
    assert sorted(k for k in keys if not _mentions(text, k)) == []


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_and_option_is_in_the_cli_reference():
    text = _read("cli.md")
    assert "## `sinkbench [SCENARIO]`" in text
    for name, parser in _subparsers().items():
        assert f"## `sinkbench {name}`" in text, f"command {name!r} has no section in docs/cli.md"
        section = text.split(f"## `sinkbench {name}`", 1)[1].split("\n## ", 1)[0]
        options = [o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")]
        missing = [o for o in options if f"`{o}" not in section]
        assert not missing, f"options of sinkbench {name} missing from its section in docs/cli.md: {missing}"
    assert set(_subparsers()) == set(COMMANDS)


def test_every_command_help_ends_with_its_docs_page():
    for name, parser in _subparsers().items():
        epilog = parser.epilog or ""
        pages = re.findall(r"docs/[\w-]+\.md", epilog)
        assert pages, f"sinkbench {name} --help points to no docs/ page"
        for page in pages:
            assert (ROOT / page).is_file(), f"sinkbench {name} --help points to {page}, which does not exist"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def test_anchor_matches_github():
    assert _anchor("## `--set`: overriding keys from the command line".lstrip("# ")) == \
        "--set-overriding-keys-from-the-command-line"
    assert _anchor("Fault rules: `[[endpoint.faults]]`") == "fault-rules-endpointfaults"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")) + ["../README.md"])
def test_links_between_pages_lead_somewhere(page):
    path = (DOCS / page).resolve()
    broken = []
    for target, anchor in re.findall(r"\]\(([^)#\s]*\.md)?(?:#([^)\s]+))?\)", path.read_text(encoding="utf-8")):
        if not target and not anchor:
            continue
        linked = (path.parent / target).resolve() if target else path
        if not linked.is_file():
            broken.append(f"{target} (no such file)")
        elif anchor and anchor not in _anchors(linked):
            broken.append(f"{target}#{anchor} (no such heading)")
    assert not broken, f"broken links in {page}: {broken}"


def test_docs_pages_cited_in_the_package_exist():
    cited = set()
    for path in [ROOT / "README.md", *sorted((ROOT / "sinkbench").rglob("*.py"))]:
        cited.update(re.findall(r"docs/([\w-]+\.md)", path.read_text(encoding="utf-8")))
    assert sorted(page for page in cited if not (DOCS / page).is_file()) == []
