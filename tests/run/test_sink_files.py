"""TLS files and the dead-letter path: checked when the settings are read (exit 2, naming key and line),
relative to the file that names them; skipped messages are dead letters too, with their reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from sinkbench.run.deadletter import REASON_HEADER
from sinkbench.sources.recorded import read_stream

from .conftest import run_cli, synthetic

ENHANCED = 'profile = "enhanced"\n'


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pems")
    ca = trustme.CA()
    mine, other = ca.issue_cert("client.example"), ca.issue_cert("other.example")
    files = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem",
             "other_key": folder / "other-key.pem", "garbage": folder / "garbage.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    mine.cert_chain_pems[0].write_to_path(str(files["cert"]))
    mine.private_key_pem.write_to_path(str(files["key"]))
    other.private_key_pem.write_to_path(str(files["other_key"]))
    files["garbage"].write_text("not a certificate\n")
    return files


def line_of(path: Path, key: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(f"{key} ="))


def test_a_missing_ca_file_given_with_set_is_invalid_input(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(10, sink=ENHANCED))
    r = run_cli(["run", str(path), "--quiet", "--set", "sink.tls_ca_file=/nonexistent.pem"])
    assert r.code == 2, r.err
    r.assert_no_traceback()
    assert "error: --set: key 'sink.tls_ca_file': /nonexistent.pem: file not found" in r.err


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("keys, blamed, words", [
    ({"tls_ca_file": "missing.pem"}, "tls_ca_file", "file not found"),
    ({"tls_ca_file": "garbage"}, "tls_ca_file", "no CA certificate in it"),
    ({"tls_client_cert": "garbage"}, "tls_client_cert", "no certificate in it"),
    ({"tls_client_cert": "cert", "tls_client_key": "other_key"}, "tls_client_key", "does not match the certificate"),
    ({"tls_client_cert": "cert", "tls_client_key": "garbage"}, "tls_client_key", "no private key in it"),
    ({"tls_client_cert": "cert"}, "tls_client_cert", "no private key in it"),
])
def test_unusable_tls_files_name_key_and_line(scenario_file: Callable[..., Path], pems: dict[str, Path],
                                               command: str, keys: dict[str, str], blamed: str,
                                               words: str) -> None:
    sink = ENHANCED + "".join(f'{k} = "{pems.get(v, v)}"\n' for k, v in keys.items())
    path = scenario_file(synthetic(10, sink=sink))
    r = run_cli([command, str(path)] + (["--quiet"] if command == "run" else []))
    assert r.code == 2, (r.out, r.err)
    r.assert_no_traceback()
    assert f"{path}:{line_of(path, blamed)}: key 'sink.{blamed}': " in r.err and words in r.err, r.err
    assert "SSLError" not in r.err


def test_good_tls_files_validate(scenario_file: Callable[..., Path], pems: dict[str, Path]) -> None:
    sink = ENHANCED + f'tls_ca_file = "{pems["ca"]}"\ntls_client_cert = "{pems["cert"]}"\n' \
                      f'tls_client_key = "{pems["key"]}"\n'
    r = run_cli(["validate", str(scenario_file(synthetic(10, sink=sink)))])
    assert r.code == 0, r.err


def test_tls_files_are_relative_to_the_connector_file(tmp_path: Path, pems: dict[str, Path]) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "ca.pem").write_bytes(pems["ca"].read_bytes())
    (conf / "config.toml").write_text('type = "sink"\nkey = "http"\n[plugin_config]\nurl = "https://127.0.0.1:1/x"\n'
                                      'profile = "enhanced"\ntls_ca_file = "ca.pem"\n')
    scenario = tmp_path / "scenario.toml"
    scenario.write_text('[source]\ncount = 10\n[sink]\nconnector = "conf/config.toml"\n')
    r = run_cli(["validate", str(conf / "config.toml"), str(scenario)])
    assert r.code == 0, r.err


def test_a_dead_letter_folder_that_does_not_exist_is_found_before_the_run(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(10, sink=ENHANCED + 'dead_letter_path = "no-such-folder/dead.jsonl"'))
    for command in (["run", str(path), "--quiet"], ["validate", str(path)]):
        r = run_cli(command)
        assert r.code == 2, r.err
        assert r.out.startswith(f"{path}: invalid") or r.out == ""      # run: nothing ran
        assert (f"{path}:{line_of(path, 'dead_letter_path')}: key 'sink.dead_letter_path': "
                f"{path.parent / 'no-such-folder' / 'dead.jsonl'}: the folder {path.parent / 'no-such-folder'} "
                "does not exist") in r.err, r.err


def test_dead_letter_path_is_relative_to_the_scenario_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "scenarios"
    (home / "out").mkdir(parents=True)
    path = home / "s.toml"
    path.write_text(synthetic(30, batch_mode="individual", sink=ENHANCED + 'max_retries = 0\n'
                              'dead_letter_path = "out/dead.jsonl"',
                              endpoint='[[endpoint.faults]]\nevery = 3\naction = "status"\nstatus = 400'))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = run_cli(["run", str(path), "--quiet"])
    assert r.code == 0, r.err
    letters = list(read_stream(home / "out" / "dead.jsonl"))
    assert len(letters) == 10
    assert not (elsewhere / "out").exists()
    assert all(sm.message.headers[REASON_HEADER].value == "status 400" for sm in letters), \
        {sm.message.headers[REASON_HEADER].value for sm in letters}


@pytest.mark.parametrize("commit", ["after_polling", "after_consuming"])
def test_skipped_messages_are_dead_letters_with_their_reason(scenario_file: Callable[..., Path], tmp_path: Path,
                                                             commit: str) -> None:
    # 300-byte payloads against a 200-byte limit: every message is skipped as oversize, none reaches the endpoint.
    dead = tmp_path / "dead.jsonl"
    path = scenario_file(synthetic(6, batch_mode="individual", timeout="3s", runtime=f'offset_commit = "{commit}"',
                                   sink=ENHANCED + f'max_payload_size_bytes = 200\ndead_letter_path = "{dead}"')
                         .replace("payload_bytes = 64", "payload_bytes = 300"))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.report is not None, r.err
    assert r.report["totals"]["skipped"] == 6, r.report["totals"]
    letters = list(read_stream(dead))
    assert sorted(sm.message.offset for sm in letters) == list(range(6))
    reasons = {sm.message.headers[REASON_HEADER].value for sm in letters}
    assert all("oversize" in why or "exceeds max size" in why for why in reasons), reasons
