"""Loading inputs: result files (skipped ones named, never dropped), specs and reported numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.errors import UserError
from leaderboards.collect import find_result_files, load_runs
from leaderboards.reported import REPORTED_DIR, load_reported
from leaderboards.spec import SPECS_DIR, load_spec, resolve_spec_path

FIX = Path(__file__).parent / "fixtures"


def _acc(task: str) -> str:
    return "accuracy"


def test_directories_are_searched_and_display_paths_keep_the_argument(monkeypatch):
    monkeypatch.chdir(FIX)
    files = find_result_files(["basic", "basic/rldf/toy_256/results.json"])
    displays = [d for d, _ in files]
    assert "basic/rldf/toy_256/results.json" in displays
    assert len(displays) == len(set(p for _, p in files)) == 11  # the explicit file is not counted twice
    assert displays == sorted(displays)


def test_missing_path_and_empty_folder_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="nope: no such file or directory"):
        find_result_files([str(tmp_path / "nope")])
    with pytest.raises(UserError, match="no file matching"):
        find_result_files([str(tmp_path)])


def test_corrupt_and_incomplete_results_are_skipped_with_reasons(monkeypatch):
    monkeypatch.chdir(FIX)
    col = load_runs(find_result_files(["basic"]), _acc)
    assert len(col.runs) == 9
    reasons = {s.path: s.reason for s in col.skipped}
    assert set(reasons) == {"basic/broken/toy_256/results.json", "basic/incomplete/toy_256/results.json"}
    assert "not valid JSON" in reasons["basic/broken/toy_256/results.json"]
    assert "no metric 'accuracy'" in reasons["basic/incomplete/toy_256/results.json"]


def test_accuracy_must_be_a_fraction_and_schema_errors_are_skipped(tmp_path):
    src = FIX / "basic" / "base" / "toy_256" / "results.json"
    data = json.loads(src.read_text())
    (tmp_path / "pct").mkdir()
    data["metrics"]["accuracy"]["value"] = 50.0
    (tmp_path / "pct" / "results.json").write_text(json.dumps(data))
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text(json.dumps({"schema": "other/0"}))
    col = load_runs(find_result_files([str(tmp_path)]), _acc)
    assert not col.runs
    reasons = {Path(s.path).parent.name: s.reason for s in col.skipped}
    assert "not a fraction" in reasons["pct"]
    assert "field 'schema'" in reasons["old"]


def test_a_column_that_is_not_a_fraction_takes_any_finite_value(tmp_path):
    data = json.loads((FIX / "basic" / "base" / "toy_256" / "results.json").read_text())
    data["metrics"]["accuracy"].update(value=-2.5, ci_low=-4.0, ci_high=7.0)
    (tmp_path / "neg").mkdir()
    (tmp_path / "neg" / "results.json").write_text(json.dumps(data))
    assert load_runs(find_result_files([str(tmp_path)]), _acc).skipped  # a fraction column refuses it
    col = load_runs(find_result_files([str(tmp_path)]), _acc, lambda task: False)
    assert len(col.runs) == 1 and not col.skipped


def test_run_fields_are_reachable_by_dotted_path(monkeypatch):
    monkeypatch.chdir(FIX)
    run = load_runs(find_result_files(["basic/rldf/arith_128/results.json"]), _acc).runs[0]
    assert run.get("protocol.settings.gen_length") == 128
    assert run.get("model.method") == "rldf"
    assert run.get("model.nothing.here") is None
    assert run.get("path") == "basic/rldf/arith_128/results.json"
    assert run.get("default_label") == "tiny [rldf]"


@pytest.mark.parametrize("name", ["rldf_main", "demo", "llada_regrade"])
def test_shipped_specs_load_by_name(name):
    spec = load_spec(resolve_spec_path(name))
    assert spec.name == name
    assert spec.rows and spec.tasks


def test_rldf_main_has_the_paper_table_shape():
    spec = load_spec(SPECS_DIR / "rldf_main.yaml")
    assert [t.name for t in spec.tasks] == ["gsm8k", "math500", "humaneval", "mbpp"]
    assert spec.variants.values == ("128", "256", "512")
    assert [g.id for g in spec.groups] == ["llada", "dream"]
    assert {g.baseline for g in spec.groups} == {"llada-base", "dream-base"}


def test_unknown_spec_name_lists_shipped_specs():
    with pytest.raises(UserError, match="shipped: code_regrade, demo, gsm8k_regrade, llada_regrade, rldf_main"):
        resolve_spec_path("nosuch")


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"colour": 1}, "unknown key 'colour'; did you mean columns?"),
        ({"rows": []}, "'rows' must list at least one row"),
        ({"baseline": "ghost"}, "baseline 'ghost' is not a row id"),
        ({"protocol_scope": "everything"}, "protocol_scope 'everything'"),
        ({"rows": [{"id": "a", "match": {"model.id": "x"}}, {"id": "a", "match": {"model.id": "y"}}]}, "duplicate row id(s) a"),
        ({"rows": [{"id": "a", "group": "g", "match": {"model.id": "x"}}]}, "rows[0].group: 'g' is not one of the groups"),
        ({"rows": [{"id": "a"}]}, "rows[0]: missing 'match'"),
        ({"columns": {"tasks": []}}, "columns.tasks must list at least one task"),
        ({"reported": [{"file": "nope.yaml", "entry": "x"}]}, "reported[0].file: 'nope.yaml' not found"),
        ({"bootstrap": {"samples": 10}}, "bootstrap.samples must be at least 100"),
        ({"columns": {"tasks": [{"name": "gsm8k", "scale": 0}]}}, "columns.tasks[0].scale: 0 must be a positive number"),
        ({"columns": {"tasks": [{"name": "gsm8k", "fraction": "no"}]}}, "columns.tasks[0].fraction: 'no' must be true or false"),
    ],
)
def test_spec_errors_name_file_and_field(tmp_path, patch, message):
    base = {"rows": [{"id": "a", "match": {"model.id": "x"}}], "columns": {"tasks": ["gsm8k"]}}
    base.update(patch)
    f = tmp_path / "bad.yaml"
    f.write_text(json.dumps(base))  # JSON is valid YAML
    with pytest.raises(UserError) as exc:
        load_spec(f)
    assert str(f) in str(exc.value)
    assert message in str(exc.value)


def test_row_match_patterns_lists_and_null(monkeypatch, tmp_path):
    monkeypatch.chdir(FIX)
    runs = load_runs(find_result_files(["basic/base/toy_256/results.json", "basic/rldf/toy_256/results.json"]), _acc).runs
    f = tmp_path / "s.yaml"
    f.write_text(
        "rows:\n"
        "  - {id: a, match: {model.method: [ba*, none]}}\n"
        "  - {id: b, match: {model.step: null, model.id: 'tin?'}}\n"
        "  - {id: c, match: {model.step: 3}}\n"
        "columns: {tasks: [toy]}\n"
    )
    rows = {r.id: r for r in load_spec(f).rows}
    base, rldf = runs
    assert rows["a"].matches(base) and not rows["a"].matches(rldf)
    assert rows["b"].matches(base) and rows["b"].matches(rldf)  # null matches an absent field
    assert not rows["c"].matches(base)


def test_shipped_reported_files_load_with_provenance_and_citation():
    files = sorted(REPORTED_DIR.glob("*.yaml"))
    assert {f.stem for f in files} >= {"d1", "wd1", "fast_dllm", "dllm", "llada", "dream", "rldf"}
    for f in files:
        for e in load_reported(f):
            assert e.source.citation and (e.source.arxiv or e.source.repo)
            assert e.provenance in "SRDM"


def test_d1_reported_numbers_match_field_md():
    """Guard against typos: these are the [R] numbers in shared/specs/FIELD.md section 1."""
    e = {x.id: x for x in load_reported(REPORTED_DIR / "d1.yaml")}["llada-d1-parser"]
    got = {t: [e.values[t][k].value for k in ("128", "256", "512")] for t in e.values}
    assert got == {
        "gsm8k": [69.29, 76.37, 78.14], "math500": [26.0, 32.4, 36.2],
        "countdown": [20.70, 19.53, 16.02], "sudoku": [11.72, 6.69, 5.47],
    }
    assert e.provenance == "R"


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"provenance": "X"}, "provenance: 'X' must be one of S, R, D, M"),
        ({"values": {"gsm8k": 120}}, "expected a percentage between 0 and 100"),
        ({"values": {"gsm8k": {"128": 50}}}, "per-variant values need the entry's 'variant'"),
        ({"label": None}, "missing 'label'"),
    ],
)
def test_reported_errors_name_file_and_entry(tmp_path, entry, message):
    good = {"id": "a", "label": "A", "model": "m", "provenance": "S", "protocol": "p", "values": {"gsm8k": 50}}
    good.update(entry)
    f = tmp_path / "r.yaml"
    f.write_text(json.dumps({"source": {"key": "k", "citation": "c"}, "entries": [good]}))
    with pytest.raises(UserError) as exc:
        load_reported(f)
    assert f"{f}: entries[0]" in str(exc.value)
    assert message in str(exc.value)


def test_fixture_generator_output_is_committed(tmp_path):
    """The committed fixtures are exactly what make_fixtures.py writes (so goldens are reproducible)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fixtures", FIX / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name in ("basic", "regrade"):
        getattr(mod, name)(tmp_path / name)
        for f in sorted((tmp_path / name).rglob("*")):
            if f.is_file():
                assert f.read_bytes() == (FIX / name / f.relative_to(tmp_path / name)).read_bytes(), f
    shutil.rmtree(tmp_path)
