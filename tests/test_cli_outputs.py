"""The CLI never overwrites an input, refuses unwritable outputs before computing, and leaves no half output."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from workbench.cli import main
from workbench.errors import ConfigError
from workbench.outputs import check_output_paths, write_all, write_atomically

CHURN = Path(__file__).resolve().parents[1] / "sample_data" / "churn"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def skew_inputs(tmp_path):
    rows = 200
    training = pl.DataFrame({"id": range(rows), "x": [float(i % 7) for i in range(rows)]})
    serving = training.with_columns(pl.when(pl.col("id") < 40).then(pl.col("x") + 1).otherwise(pl.col("x")))
    t, s = tmp_path / "training.parquet", tmp_path / "serving.parquet"
    training.write_parquet(t)
    serving.write_parquet(s)
    return t, s


def _skew(t: Path, s: Path, *extra: str) -> int:
    return main(["skew", "--training", str(t), "--serving", str(s), "--id", "id", "--quiet", *extra])


@pytest.mark.parametrize("which", ["training", "serving"])
def test_out_onto_an_input_is_refused_and_the_input_is_unchanged(skew_inputs, capsys, which):
    t, s = skew_inputs
    target = t if which == "training" else s
    before = _digest(target)
    assert _skew(t, s, "--out", str(target)) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "is one of the inputs" in err and "Give another path" in err
    assert _digest(target) == before


def test_report_onto_a_file_in_an_input_folder_is_refused(tmp_path, capsys):
    part = tmp_path / "current"
    part.mkdir()
    pl.DataFrame({"x": [1.0, 2.0, 3.0] * 50}).write_parquet(part / "day1.parquet")
    ref = tmp_path / "ref.parquet"
    pl.DataFrame({"x": [1.0, 2.0, 3.0] * 50}).write_parquet(ref)
    before = _digest(part / "day1.parquet")
    code = main(["drift", "--reference", str(ref), "--current", str(part), "--report", str(part / "day1.parquet"),
                 "--quiet"])
    assert code == 2
    assert "--report" in capsys.readouterr().err
    assert _digest(part / "day1.parquet") == before


def test_save_profile_onto_the_reference_is_refused(tmp_path, capsys):
    ref = tmp_path / "ref.parquet"
    pl.DataFrame({"x": [1.0, 2.0, 3.0] * 50}).write_parquet(ref)
    before = _digest(ref)
    assert main(["drift", "--reference", str(ref), "--save-profile", str(ref)]) == 2
    assert "--save-profile" in capsys.readouterr().err
    assert _digest(ref) == before


def test_leakage_out_onto_a_declared_source_is_refused(tmp_path, capsys):
    source = CHURN / "transactions.parquet"
    before = _digest(source)
    code = main(["leakage", "--config", str(CHURN / "audit.yaml"), "--out", str(source), "--quiet"])
    assert code == 2
    assert "is one of the inputs" in capsys.readouterr().err
    assert _digest(source) == before


def test_outputs_in_a_folder_whose_parent_is_a_file_are_refused_before_computing(skew_inputs, tmp_path, capsys):
    t, s = skew_inputs
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    assert _skew(t, s, "--out", str(blocker / "sub" / "f.json")) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "is a file, not a folder" in err


def test_an_output_that_is_a_folder_is_refused(skew_inputs, tmp_path, capsys):
    t, s = skew_inputs
    assert _skew(t, s, "--report", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "--report" in err and "is a folder; give a file name" in err


def test_out_and_report_on_the_same_file_are_refused(skew_inputs, tmp_path, capsys):
    t, s = skew_inputs
    same = tmp_path / "o.json"
    assert _skew(t, s, "--out", str(same), "--report", str(same)) == 2
    assert "name the same file" in capsys.readouterr().err
    assert not same.exists()


def test_an_unwritable_folder_is_refused(skew_inputs, tmp_path, capsys, monkeypatch):
    t, s = skew_inputs
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != locked)
    assert _skew(t, s, "--out", str(locked / "f.json")) == 2
    assert "permission denied" in capsys.readouterr().err


def test_when_the_report_cannot_be_rendered_no_findings_json_is_left(skew_inputs, tmp_path, monkeypatch):
    t, s = skew_inputs
    out, report = tmp_path / "o" / "f.json", tmp_path / "o" / "r.html"

    def broken(result):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr("workbench.present.html.result_page", broken)
    with pytest.raises(RuntimeError, match="renderer failed"):
        _skew(t, s, "--out", str(out), "--report", str(report))
    assert not out.exists() and not report.exists()


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    target.write_text("old")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_write_all_renders_everything_before_writing(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"

    def boom() -> str:
        raise ValueError("cannot render b")

    with pytest.raises(ValueError, match="cannot render b"):
        write_all({a: lambda: "A", b: boom})
    assert not a.exists() and not b.exists()
    write_all({a: lambda: "A", b: lambda: "B", None: lambda: "skipped"})
    assert (a.read_text(), b.read_text()) == ("A", "B")


def test_an_input_glob_protects_every_file_it_matches(tmp_path):
    for name in ("p1.parquet", "p2.parquet"):
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"--out .*p2\.parquet' is one of the inputs"):
        check_output_paths({"--out": tmp_path / "p2.parquet"}, [str(tmp_path / "p*.parquet")])
    check_output_paths({"--out": tmp_path / "other.json"}, [str(tmp_path / "p*.parquet"), None, object()])


@pytest.mark.parametrize("content, message", [
    (b"training: 5\xff\xfe\n", "is not UTF-8 text"),
])
def test_a_config_that_is_not_utf8_is_refused_by_name(tmp_path, capsys, content, message):
    cfg = tmp_path / "audit.yaml"
    cfg.write_bytes(content)
    assert main(["leakage", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert message in err and "audit.yaml" in err and "Traceback" not in err


def test_a_folder_given_as_config_is_refused_by_name(tmp_path, capsys):
    assert main(["leakage", "--config", str(tmp_path)]) == 2
    assert "is a folder; give the YAML or JSON file" in capsys.readouterr().err


@pytest.mark.slow
def test_report_list_into_a_closed_pipe_ends_quietly(tmp_path):
    # as in `workbench report list | head`: the reader is gone before the listing is written
    script = ("import os, sys\n"
              "r, w = os.pipe(); os.close(r); sys.stdout = os.fdopen(w, 'w', buffering=1)\n"
              "from workbench.cli import main\n"
              f"code = main(['report', 'list', '--out', {str(tmp_path)!r}])\n"
              "sys.stderr.write(f'exit {code}')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.stderr == "exit 0", proc.stderr
    assert proc.returncode == 0


def test_outputs_get_the_mode_a_plain_write_gives_and_a_replaced_file_keeps_its_own(tmp_path):
    old_umask = os.umask(0o022)
    try:
        fresh = write_atomically(tmp_path / "report.html", "<html></html>")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "findings.json"
        kept.write_text("{}")
        kept.chmod(0o640)
        write_atomically(kept, "[]")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "[]"
    finally:
        os.umask(old_umask)
