"""Duplicate keys are reported on the line of the second definition, whatever tomlkit's message says."""

import pytest

from sinkbench.errors import InputError
from sinkbench.tomlsrc import parse_toml


@pytest.mark.parametrize(("text", "line"), [
    ("[source]\ncount = 1\nrate = 2\ncount = 3\n", 4),
    ("a = 1\nb = 2\na = 3\n", 3),
    ("[source]\ncount = 1\n\n[sink]\nurl = 'x'\n\n[source]\nrate = 2\n", 7),
    ("[sink]\nheaders.a = '1'\n[sink.headers]\na = '2'\n", 4),
    ('[s]\n"count" = 1\ncount = 2\n', 3),
    ("[[endpoint.faults]]\nstatus = 503\nstatus = 500\n", 3),
    ("x = '''\ncount = 1\n'''\ncount = 1\ncount = 2\n", 5),
])
def test_duplicate_key_names_its_own_line(text, line):
    with pytest.raises(InputError) as exc:
        parse_toml(text, "scenario.toml")
    assert exc.value.where.line == line
    assert "already exists" in str(exc.value) or "invalid TOML" in str(exc.value)


def test_array_tables_are_not_duplicates():
    src = parse_toml("[[f]]\na = 1\n[[f]]\na = 2\n", "x.toml")
    assert src.data == {"f": [{"a": 1}, {"a": 2}]}
    assert src.line("f", 1, "a") == 4
