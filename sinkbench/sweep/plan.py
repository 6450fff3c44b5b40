"""What a sweep will run: the `--vary` keys, their values, every combination, each validated.

`--vary sink.max_retries=0,3,6` names a dotted scenario key, as `--set` does,
and a comma-separated list of TOML values (commas inside quotes, brackets or
braces do not split). A key without a section is a `[sink]` key
(`max_retries=0,3`), or a `[runtime]` key for the three runtime names
(`batch_length=100,500`). Only the settings under test can be varied: the
sink's keys (not `url` or `connector`) and the runtime's; anything else would
change the scenario rather than the settings, which `--set` is for.

For an external sink (`[sink] kind = "external"`, docs/external.md) the
settings under test are its own, outside the bench's reach, so a sweep varies
what the scenario sets around it: its `command`, one `env` variable at a time
(`sink.env.BATCH=10,100`), `settle`, and the endpoint's settings
(`endpoint.latency=0ms,200ms`) to compare how it copes.

Every combination is loaded as a scenario with its overrides before anything
runs, so an invalid value or an enhanced key under the iggy profile is found
up front, and each error names `--vary` and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sinkbench.config.settings import ALL_KEYS
from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.redact import is_secret_header
from sinkbench.scenario.load import (
    RUNTIME_KEYS,
    SECTIONS,
    SHORT_KEY_SECTIONS,
    load_scenario,
    parse_set,
    qualify_key,
)
from sinkbench.scenario.model import Scenario

VARY = "--vary"
SET = "--set"
# Sink keys that are not settings under test: where the sink delivers, and the file it starts from.
NOT_VARIED = ("url", "connector")
SINK_VARIABLE = tuple(k for k in ALL_KEYS if k not in NOT_VARIED)
MAX_WITHOUT_YES = 16


@dataclass(frozen=True)
class Value:
    text: str        # as written on the command line ("100ms", "\"ndjson\"", "[200, 202]")
    value: Any       # as TOML reads it (bare words are strings)

    @property
    def shown(self) -> str:
        return show_value(self.value)


@dataclass(frozen=True)
class Vary:
    key: str                     # full dotted key: "sink.max_retries", "runtime.batch_length", "sink.headers.X"
    values: tuple[Value, ...]

    @property
    def short(self) -> str:
        """The key without its section, for tables: "max_retries", "batch_length", "headers.X"."""
        return self.key.split(".", 1)[1]


@dataclass(frozen=True)
class Combination:
    index: int                                 # 1-based, in the order the sweep runs them
    choices: tuple[tuple[Vary, Value], ...]    # one value per --vary, in --vary order

    @property
    def overrides(self) -> list[str]:
        return [f"{vary.key}={value.text}" for vary, value in self.choices]

    @property
    def values(self) -> dict[str, Any]:
        """Full dotted key → value."""
        return {vary.key: value.value for vary, value in self.choices}

    @property
    def label(self) -> str:
        """`batch_mode=ndjson max_retries=3`: how tables and progress name the combination."""
        return " ".join(f"{vary.short}={value.shown}" for vary, value in self.choices)


@dataclass(frozen=True)
class SweepPlan:
    file: str
    varies: tuple[Vary, ...]
    fixed: tuple[str, ...]                  # --set items applied to every combination
    combinations: tuple[Combination, ...]
    scenarios: tuple[Scenario, ...] = ()    # one per combination, once validated
    source_sha256: str = ""                 # the scenario file's bytes, once validated

    @property
    def size(self) -> int:
        return len(self.combinations)

    @property
    def vary_items(self) -> list[str]:
        """The --vary items that plan this sweep again (keys in full, each value as it was written)."""
        return [f"{vary.key}={','.join(value.text for value in vary.values)}" for vary in self.varies]

    @property
    def fingerprint(self) -> str:
        """Who this plan is, wherever it runs: the scenario file's content, the varied keys and values in order,
        the fixed overrides and the seed. Not the file's path: each CI machine checks it out elsewhere.

        Shards of one sweep carry the same fingerprint; `sweep merge` refuses reports whose differ.
        """
        if not self.source_sha256 or not self.scenarios:
            raise ValueError("the plan has not been validated (validate_plan)")
        identity = {
            "scenario": self.source_sha256,
            "vary": [[vary.key, [show_value(v.value) for v in vary.values]] for vary in self.varies],
            "set": [_set_identity(item) for item in self.fixed],
            "seed": self.scenario.seed,
        }
        text = json.dumps(identity, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]

    @property
    def scenario(self) -> Scenario:
        """The first combination's scenario: what every combination has in common (name, seed, endpoint)."""
        return self.scenarios[0]


def _set_identity(item: str) -> list[str]:
    """`max_retries = 5` and `sink.max_retries=5` are the same override."""
    path, value = parse_set(item)
    return [".".join(path), show_value(value)]


def show_value(value: Any) -> str:
    """A value for people: strings bare (`ndjson`, `100ms`), everything else as TOML (`true`, `[200, 202]`)."""
    if isinstance(value, str):
        return value
    import tomlkit
    try:
        return tomlkit.item(value).as_string()
    except Exception:
        return repr(value)


def split_top_level(text: str, is_separator: Callable[[str], bool]) -> list[str]:
    """`text` cut at separators that stand outside quotes, brackets and braces (TOML values keep theirs)."""
    items: list[str] = []
    depth = 0
    quote: str | None = None
    escaped = False
    start = 0
    for i, c in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif c == "\\" and quote == '"':
                escaped = True
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth = max(0, depth - 1)
        elif depth == 0 and is_separator(c):
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:].strip())
    return items


def split_values(text: str) -> list[str]:
    """`a,"b,c",[1, 2]` → ['a', '"b,c"', '[1, 2]']: commas split outside quotes, brackets and braces."""
    return split_top_level(text, lambda c: c == ",")


def _hint(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" — did you mean '{close[0]}'?" if close else ""


def normalise_key(key: str, flag: str = VARY, *, external: bool = False) -> str:
    """`max_retries` → `sink.max_retries`, `batch_length` → `runtime.batch_length`; checks it can be varied.

    `external`: the scenario's sink is a program under test, whose variable keys are others (see above).
    """
    parts = [p.strip() for p in key.strip().split(".")]
    if not all(parts):
        raise InputError(f"expected a key such as sink.max_retries, got {key!r}", Where(file=flag, key=key))
    # The same grammar as --set; only [sink] and [runtime] keys can be varied, so none is ambiguous here.
    parts = qualify_key(parts, flag, sections=SHORT_KEY_SECTIONS)
    full = ".".join(parts)
    where = Where(file=flag, key=full)
    section = parts[0]
    if external:
        return _external_key(parts, key, where)
    if section not in SECTIONS:
        raise InputError(f"unknown key '{key}'{_hint(parts[0], (*SINK_VARIABLE, *RUNTIME_KEYS))}", where)
    if section not in ("sink", "runtime"):
        raise InputError(f"[{section}] keys cannot be varied: a sweep compares the settings under test "
                         "([sink] and [runtime]) over the same scenario; use --set for a fixed change", where)
    if len(parts) < 2:
        raise InputError(f"expected a key inside [{section}], such as {section}."
                         f"{'max_retries' if section == 'sink' else 'batch_length'}", where)
    name = parts[1]
    if section == "runtime":
        if name not in RUNTIME_KEYS:
            raise InputError(f"unknown key '{name}' in [runtime]{_hint(name, RUNTIME_KEYS)}", where)
        if len(parts) != 2:
            raise InputError(f"'{name}' takes no sub-key", where)
        return full
    if name in NOT_VARIED:
        raise InputError(f"'{name}' cannot be varied: a sweep compares settings for the same destination "
                         "and starting file", where)
    if name not in ALL_KEYS:
        raise InputError(f"unknown key '{name}' in [sink]{_hint(name, SINK_VARIABLE)}", where)
    if name == "headers":
        if len(parts) != 3:
            raise InputError("vary one header at a time: sink.headers.NAME=V1,V2", where)
    elif len(parts) != 2:
        raise InputError(f"'{name}' takes no sub-key", where)
    return full


EXTERNAL_VARIABLE = ("command", "env", "settle")


def _external_key(parts: list[str], key: str, where: Where) -> str:
    section, full = parts[0], ".".join(parts)
    if section == "endpoint" and len(parts) >= 2:
        return full      # checked whole when each combination is loaded, as a [endpoint] key in the file
    if section != "sink" or len(parts) < 2:
        raise InputError(f"an external sink's sweep varies its command, its env, its settle or the endpoint's "
                         f"settings (sink.env.NAME, sink.command, sink.settle, endpoint.KEY), not '{key}'", where)
    name = parts[1]
    if name not in EXTERNAL_VARIABLE:
        raise InputError(f"'{name}' cannot be varied for an external sink{_hint(name, EXTERNAL_VARIABLE)} "
                         "(sink.env.NAME, sink.command, sink.settle, endpoint.KEY)", where)
    if name == "env" and len(parts) != 3:
        raise InputError("vary one variable at a time: sink.env.NAME=V1,V2", where)
    if name != "env" and len(parts) != 2:
        raise InputError(f"'{name}' takes no sub-key", where)
    return full


def parse_vary(item: str, *, external: bool = False) -> Vary:
    """`sink.max_retries=0,3,6` → Vary("sink.max_retries", (0, 3, 6)). Raises InputError naming --vary."""
    if "=" not in item:
        raise InputError(f"expected KEY=V1,V2,..., got {item!r}", Where(file=VARY))
    raw_key, _, raw_values = item.partition("=")
    key = normalise_key(raw_key, external=external)
    where = Where(file=VARY, key=key)
    texts = split_values(raw_values)
    if any(t == "" for t in texts):
        raise InputError(f"empty value in {raw_values.strip()!r} (values are separated by commas)", where)
    values: list[Value] = []
    seen: dict[str, str] = {}
    for text in texts:
        _, value = parse_set(f"{key}={text}")
        shown = show_value(value)
        if shown in seen:
            raise InputError(f"value {shown} is given twice ({seen[shown]!r} and {text!r})", where)
        seen[shown] = text
        values.append(Value(text, value))
    return Vary(key, tuple(values))


def plan_sweep(path: str | Path, vary_items: Sequence[str], set_items: Sequence[str] = ()) -> SweepPlan:
    """Parse `--vary` and `--set` and list the combinations (not yet validated against the scenario).

    Raises InputErrors with every problem found.
    """
    errors: list[InputError] = []
    varies: list[Vary] = []
    if not vary_items:
        errors.append(InputError("nothing to vary: give at least one --vary KEY=V1,V2", Where(file=VARY)))
    external = _is_external(path, set_items)
    for item in vary_items:
        try:
            vary = parse_vary(item, external=external)
        except InputError as exc:
            errors.append(exc)
            continue
        if any(v.key == vary.key for v in varies):
            errors.append(InputError("varied twice: give all its values in one --vary", Where(file=VARY, key=vary.key)))
            continue
        errors.extend(_literal_secret(vary.key, [v.text for v in vary.values], VARY))
        varies.append(vary)
    for item in set_items:
        try:
            set_path, _ = parse_set(item)
        except InputError as exc:
            errors.append(exc)
            continue
        set_key = ".".join(set_path)
        errors.extend(_literal_secret(set_key, [item.partition("=")[2]], "--set"))
        for vary in varies:
            if set_key == vary.key or set_key.startswith(vary.key + ".") or vary.key.startswith(set_key + "."):
                errors.append(InputError(f"both varied and set with --set {set_key}: keep one",
                                         Where(file=VARY, key=vary.key)))
    if errors:
        raise InputErrors(errors)
    combos = tuple(Combination(i, tuple(zip(varies, values))) for i, values in
                   enumerate(itertools.product(*(v.values for v in varies)), start=1))
    return SweepPlan(str(path), tuple(varies), tuple(set_items), combos)


def _literal_secret(key: str, texts: Sequence[str], option: str) -> list[InputError]:
    """A credential header's value typed literally would be written into the sweep's labels and reports,
    which keep every value so that `sweep merge` can check the shards: ask for `${VAR}` instead, whose
    value stays secret (only the reference is written)."""
    parts = key.split(".")
    if len(parts) < 2 or parts[-2] != "headers" or not is_secret_header(parts[-1]):
        return []
    if all("${" in text for text in texts):
        return []
    return [InputError(f"a credential given literally would be written into the sweep's reports; "
                       f"pass it as ${{VAR}} (e.g. {parts[-1]}=\"Bearer ${{API_TOKEN}}\")",
                       Where(file=option, key=key))]


def _is_external(path: str | Path, set_items: Sequence[str]) -> bool:
    """Whether the scenario's sink is a program under test (`[sink] kind`, or `--set sink.kind`); a file that
    cannot be read is left for the loader to report."""
    kind: Any = None
    try:
        from sinkbench.tomlsrc import load_toml
        sink = load_toml(path).data.get("sink")
        kind = sink.get("kind") if isinstance(sink, dict) else None
    except InputError:
        pass
    for item in set_items:
        try:
            set_path, value = parse_set(item)
        except InputError:
            continue
        if set_path == ["sink", "kind"]:
            kind = value
    return kind == "external"


def validate_plan(plan: SweepPlan) -> SweepPlan:
    """Load every combination as a scenario; returns the plan with its scenarios.

    Raises InputErrors listing each distinct problem once; a problem that only
    some combinations have says which.
    """
    scenarios: list[Scenario] = []
    found: dict[str, list[Combination]] = {}
    order: list[InputError] = []
    for combo in plan.combinations:
        try:
            scenarios.append(load_scenario(plan.file, [*plan.fixed, *combo.overrides]))
        except InputError as exc:
            for err in (exc.errors if isinstance(exc, InputErrors) else [exc]):
                err = _relocate(err, plan)
                text = str(err)
                if text not in found:
                    found[text] = []
                    order.append(err)
                found[text].append(combo)
    if not found:
        try:
            digest = hashlib.sha256(Path(plan.file).read_bytes()).hexdigest()
        except OSError as exc:     # it loaded a moment ago: removed or made unreadable since
            raise InputError(f"cannot read the scenario: {exc.strerror or exc}", Where(file=plan.file)) from exc
        return dataclasses.replace(plan, scenarios=tuple(scenarios), source_sha256=digest)
    errors = []
    for err in order:
        combos = found[str(err)]
        if len(combos) < plan.size:
            named = "; ".join(c.label for c in combos[:3])
            more = f"; and {len(combos) - 3} more" if len(combos) > 3 else ""
            err = InputError(f"{err.message} (in {len(combos)} of {plan.size} combinations: {named}{more})", err.where)
        errors.append(err)
    raise InputErrors(errors)


def _relocate(err: InputError, plan: SweepPlan) -> InputError:
    """An error the scenario loader blames on `--set` for a varied key is blamed on `--vary`."""
    key = err.where.key or ""
    if err.where.file == SET and any(key == v.key or key.startswith(v.key + ".") for v in plan.varies):
        return InputError(err.message, dataclasses.replace(err.where, file=VARY))
    return err
