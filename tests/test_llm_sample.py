"""The LLM-application sample (sample_data/llm_app, issue 19): the generator is deterministic, the shipped
files equal a regeneration, the OTLP export reads back through workbench.telemetry into the request table's
tokens, cost and latencies, the bench's polars writer writes what the SDK writes, and every planted problem
and decoy documented in planted.json and sample_data/README.md holds in the data (brute force, no check)."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from scipy.stats import fisher_exact

from workbench.telemetry import read_spans, requests_from_spans, stages_from_spans

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sample_data" / "llm_app"
PLANTED = json.loads((DATA / "planted.json").read_text())


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the shipped sample_data
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module


g = _load("llm_app_generate", DATA / "generate.py")
bench = _load("make_llm_data", ROOT / "bench" / "make_llm_data.py")


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return pl.read_parquet(DATA / "requests.parquet").with_columns(
        day=((pl.col("timestamp") - g.START).dt.total_days() + 1).cast(pl.Int32),
        tokens=pl.col("input_tokens") + pl.col("output_tokens"))


def _rate(frame: pl.DataFrame) -> tuple[int, int]:
    """(ungrounded, judged) among the judged rows."""
    judged = frame.filter(pl.col("grounded").is_not_null())
    return int((~judged["grounded"]).sum()), judged.height


def _fisher(a: tuple[int, int], b: tuple[int, int]) -> float:
    return fisher_exact([[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]])[1]


# --- the generator and the shipped files ---------------------------------------------------------------------

def test_the_generator_is_deterministic_in_its_seed_and_size():
    a, b = g.simulate(5, 3_000), g.simulate(5, 3_000)
    assert_frame_equal(a, b)
    other = g.simulate(6, 3_000)
    assert other.height == a.height and not other["request_id"].equals(a["request_id"])
    assert g.simulate(5, 6_000).height == 6_000 and a.height == 3_000
    days = pl.concat([g.simulate(5, 3_000, days=(d,)) for d in range(1, 8)])
    assert days.height == 3_000 and days["timestamp"].is_sorted()  # day by day adds up to the week


def test_the_request_table_follows_the_column_conventions():
    shipped = pl.read_parquet(DATA / "requests.parquet")
    assert shipped.columns == list(g.COLUMNS)
    assert shipped.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert {c: shipped.schema[c] for c in ("input_tokens", "output_tokens", "k", "retrieved", "first_relevant_rank")} \
        == dict.fromkeys(("input_tokens", "output_tokens", "k", "retrieved", "first_relevant_rank"), pl.Int64)
    assert shipped.schema["grounded"] == pl.Boolean and shipped.schema["relevance_known"] == pl.Boolean
    assert shipped["request_id"].str.contains("^[0-9a-f]{32}$").all() and shipped["request_id"].is_unique().all()
    assert set(shipped["status"]) == {"ok", "error"} and shipped["timestamp"].is_sorted()
    assert (shipped["input_tokens"] > 0).all() and (shipped["output_tokens"] >= 0).all()
    assert shipped.filter(pl.col("status") == "error")["grounded"].null_count() == (shipped["status"] == "error").sum()
    assert ((shipped["retrieved"] >= 0) & (shipped["retrieved"] <= shipped["k"])).all()
    rank = shipped.filter(pl.col("first_relevant_rank").is_not_null())
    assert rank["relevance_known"].all() and (rank["first_relevant_rank"] >= 1).all()
    assert (rank["first_relevant_rank"] <= rank["retrieved"]).all()
    assert shipped.height == PLANTED["requests"] == g.SIZE
    shipped_files = ("requests.parquet", "spans.otlp.jsonl.gz", "prices.yaml", "planted.json")
    assert sum((DATA / name).stat().st_size for name in shipped_files) < 5_000_000  # the repo and wheel stay small


def test_the_shipped_table_prices_and_planted_facts_equal_a_regeneration():
    simulated = g.simulate(g.SEED, g.SIZE)
    assert_frame_equal(g.request_table(simulated), pl.read_parquet(DATA / "requests.parquet"))
    assert (DATA / "prices.yaml").read_text() == g.prices_yaml()
    assert yaml.safe_load(g.prices_yaml()) == g.PRICES
    assert json.loads(json.dumps(g.planted(g.request_table(simulated)))) == PLANTED
    # the export: the bench's polars writer gives the SDK's bytes (next test), so this compares the lines
    lines = bench.otlp_lines(g.span_layout(simulated), g).to_list()
    assert gzip.decompress((DATA / "spans.otlp.jsonl.gz").read_bytes()).decode().splitlines() == lines


@pytest.mark.slow
def test_the_shipped_files_equal_a_regeneration_with_the_sdk(tmp_path):
    paths = g.write(tmp_path)
    for path in paths.values():
        assert path.read_bytes() == (DATA / path.name).read_bytes(), path.name


def test_the_bench_writer_writes_what_the_opentelemetry_sdk_writes(tmp_path):
    simulated = g.simulate(11, 3_000, days=(3,))
    layout = g.span_layout(simulated)
    sdk = g.write_otlp_sdk(layout, tmp_path / "sdk.jsonl.gz")
    lines = bench.otlp_lines(layout, g).to_list()
    assert len(lines) == -(-simulated.height // g.BATCH)
    assert gzip.decompress(sdk.read_bytes()).decode() == "\n".join(lines) + "\n"
    assert any('"status":{"message":"upstream model error","code":2}' in line for line in lines)  # errors too


def test_the_bench_script_writes_the_table_the_export_and_the_planted_facts(tmp_path):
    summary = bench.main(["--requests", "20000", "--otlp-mb", "1", "--out", str(tmp_path)])
    table = pl.read_parquet(tmp_path / "requests.parquet")
    assert table.columns == list(g.COLUMNS) and table.height == summary["requests"] == 20_000
    monday = table.filter(pl.col("timestamp") < g.START + dt.timedelta(days=1)).height
    assert summary["otlp_requests"] == min(monday, bench.CHUNK) and summary["otlp_mb"] > 1
    spans = read_spans(tmp_path / "spans.otlp.jsonl")
    n = summary["otlp_requests"]
    assert spans.height == 4 * n and set(spans["trace_id"]) == set(table["request_id"][:n])
    assert json.loads((tmp_path / "planted.json").read_text())["requests"] == table.height


# --- the export reads back into the request table ------------------------------------------------------------

@pytest.fixture(scope="module")
def spans() -> pl.DataFrame:
    return read_spans(DATA / "spans.otlp.jsonl.gz", attributes=["app.api_key", "app.region", "app.query_type",
                                                                 "app.model_version", "retrieval.returned"])


def test_the_export_reads_back_into_the_tables_tokens_cost_and_latencies(spans, table):
    prices = yaml.safe_load((DATA / "prices.yaml").read_text())
    back = requests_from_spans(spans, prices=prices)
    assert back.height == table.height and back["spans"].unique().to_list() == [4]
    both = table.join(back, on="request_id", how="inner", suffix="_spans")
    assert both.height == table.height
    assert (both["input_tokens"] == both["input_tokens_spans"]).all()
    assert (both["output_tokens"] == both["output_tokens_spans"]).all()
    assert (both["timestamp"] == both["start_time"]).all()
    assert (both["latency_ms"] - both["latency_ms_spans"]).abs().max() < 1e-9  # µs-exact, one float rounding
    assert ((both["cost"] - both["cost_spans"]).abs() <= 1e-12 * both["cost"]).all()
    assert ((both["status"] == "error") == both["error"]).all()
    assert (pl.Series([m.rsplit("-", 3)[0] for m in both["model_spans"]]) == both["model"]).all()
    flags = ["root_missing", "parent_missing", "clock_skew", "negative_duration", "invalid_tokens"]
    assert not both.select(pl.any_horizontal(flags).any()).item()


def test_the_retrieve_stage_is_the_retrieval_latency_and_the_root_carries_the_segments(spans, table):
    stages = stages_from_spans(spans, stage={"retrieve": "retrieval"})
    both = table.join(stages, on="request_id", suffix="_stage")
    assert both.height == table.height
    assert (both["retrieval_latency_ms"] - both["latency_ms_stage"]).abs().max() < 1e-9
    roots = spans.filter("is_root").select(
        pl.col("trace_id").alias("request_id"), pl.col("app.api_key").alias("api_key"),
        pl.col("app.region").alias("region"), pl.col("app.query_type").alias("query_type"),
        pl.col("app.model_version").alias("model_version"))
    assert_frame_equal(roots.sort("request_id"), table.select(roots.columns).sort("request_id"))
    retrieve = spans.filter(pl.col("name") == "retrieve").select(pl.col("trace_id").alias("request_id"),
                                                                 "retrieval.returned")
    joined = table.join(retrieve, on="request_id")
    assert (joined["retrieved"] == joined["retrieval.returned"]).all()
    assert set(spans.filter(pl.col("gen_ai.operation.name") == "chat")["gen_ai.request.model"]) == set(g.MODELS)


# --- planted problems -----------------------------------------------------------------------------------------

def test_ungrounded_answers_rise_for_billing_once_v7_ships_and_nowhere_else(table):
    planted = PLANTED["hallucination_rate_increase"]
    at = _t(planted["window"][0])
    assert (table.filter(pl.col("timestamp") < at)["model_version"] == "v6").all()
    assert (table.filter(pl.col("timestamp") >= at)["model_version"] == "v7").all()
    after = pl.col("timestamp") >= at
    for query_type in g.QUERY_TYPES:
        scope = table.filter(pl.col("query_type") == query_type)
        before, later = _rate(scope.filter(~after)), _rate(scope.filter(after))
        if query_type == "billing":
            assert later[0] / later[1] > 0.07 and before[0] / before[1] < 0.05
            assert _fisher(later, before) < 0.001 and later[1] == planted["judged"]
        else:
            assert later[0] / later[1] < 0.07 and _fisher(later, before) > 0.05
    per_day = {d: _rate(table.filter(pl.col("query_type") == "billing", pl.col("day") == d)) for d in range(1, 8)}
    assert max(per_day[d][0] / per_day[d][1] for d in range(1, 5)) < min(per_day[d][0] / per_day[d][1]
                                                                        for d in range(5, 8))


def test_one_api_key_uses_about_20x_its_tokens_for_three_hours(table):
    planted = PLANTED["token_spike"]
    key = planted["segment"]["api_key"]
    start, end = (_t(w) for w in planted["window"])
    hours = pl.datetime_range(g.START, g.START + dt.timedelta(days=7), "1h", closed="left", eager=True,
                              time_zone="UTC").alias("hour").to_frame()
    hourly = hours.join(table.filter(pl.col("api_key") == key).group_by(pl.col("timestamp").dt.truncate("1h")
                                                                          .alias("hour")).agg(pl.col("tokens").sum()),
                        on="hour", how="left").fill_null(0)
    blocks = hourly.with_columns(pl.col("tokens").rolling_sum(3).shift(-2).alias("block"))
    spike = blocks.filter(pl.col("hour") == start)["block"].item()
    same_hours = blocks.filter(pl.col("hour").dt.hour() == start.hour, pl.col("hour").dt.weekday() <= 5,
                               pl.col("hour") != start)["block"]
    assert 12 < spike / same_hours.mean() < 30
    apart = (pl.col("hour") - start).abs() >= dt.timedelta(hours=3)
    assert spike > 5 * blocks.filter(apart)["block"].max()  # no other three hours of this key come close
    inside = table.filter(pl.col("api_key") == key, pl.col("timestamp").is_between(start, end, closed="left"))
    assert inside.height == planted["requests"]


def test_the_index_rebuild_halves_hit_rate_and_raises_empty_retrievals_in_apac_only(table):
    planted = PLANTED["retrieval_quality_drop"]
    at = _t(planted["window"][0])

    def rates(frame: pl.DataFrame) -> tuple[float, float]:
        known = frame.filter("relevance_known")
        return known["first_relevant_rank"].is_not_null().mean(), (frame["retrieved"] == 0).mean()

    for region in g.REGIONS:
        scope = table.filter(pl.col("region") == region)
        (hit0, empty0), (hit1, empty1) = rates(scope.filter(pl.col("timestamp") < at)), rates(
            scope.filter(pl.col("timestamp") >= at))
        assert hit0 > 0.75 and empty0 < 0.035
        if region == "apac":
            assert 0.4 < hit1 / hit0 < 0.6 and empty1 > 0.1
        else:
            assert hit1 > 0.75 and empty1 < 0.035
    assert table.filter(pl.col("region") == "apac", pl.col("timestamp") >= at).height == planted["requests"]


def test_eu_cost_per_request_rises_with_the_switch_to_the_larger_model(table):
    planted = PLANTED["cost_increase"]
    at = _t(planted["window"][0])
    prices = yaml.safe_load((DATA / "prices.yaml").read_text())
    price = table.select(pl.col("model").replace_strict({m: p["input"] for m, p in prices.items()}).alias("i"),
                         pl.col("model").replace_strict({m: p["output"] for m, p in prices.items()}).alias("o"))
    recomputed = (table["input_tokens"] * price["i"] + table["output_tokens"] * price["o"]) / 1000
    assert ((recomputed - table["cost"]).abs() < 1e-15).all()
    for region in g.REGIONS:
        scope = table.filter(pl.col("region") == region, pl.col("api_key") != "key_42")
        ratio = scope.filter(pl.col("timestamp") >= at)["cost"].mean() / scope.filter(
            pl.col("timestamp") < at)["cost"].mean()
        assert (ratio > 2) if region == "eu" else (0.7 < ratio < 1.3), (region, ratio)
    eu_after = table.filter(pl.col("region") == "eu", pl.col("timestamp") >= at)
    assert set(eu_after["model"]) == {"gpt-4o"} and eu_after.height == planted["requests"]


# --- decoys -----------------------------------------------------------------------------------------------------

def test_the_heavy_key_is_ten_times_the_median_key_every_day(table):
    key = PLANTED["decoys"]["heavy_api_key"]["segment"]["api_key"]
    daily = table.group_by("api_key", "day").agg(pl.col("tokens").sum())
    ratios = (daily.filter(pl.col("api_key") == key).join(daily.group_by("day").agg(pl.col("tokens").median()
                                                                                    .alias("median")), on="day")
              .select(pl.col("tokens") / pl.col("median")).to_series())
    assert len(ratios) == 7 and ratios.min() > 7 and ratios.max() < 13
    assert ratios.max() / ratios.min() < 1.5  # steady: heavy, not spiking


def test_the_weekend_has_less_traffic_and_the_same_quality(table):
    per_day = table.group_by("day").agg(pl.len()).sort("day")["len"]
    weekend = per_day[5:].mean() / per_day[:5].mean()
    assert 0.5 < weekend < 0.7
    non_billing = table.filter(pl.col("query_type") != "billing")
    assert _fisher(_rate(non_billing.filter(pl.col("day") >= 6)), _rate(non_billing.filter(pl.col("day") < 6))) > 0.05


def test_the_tiny_canary_segment_has_three_ungrounded_of_thirty_and_is_not_significant(table):
    decoy = PLANTED["decoys"]["tiny_segment"]
    canary = table.filter(pl.col("prompt_version") == decoy["segment"]["prompt_version"])
    start, end = (_t(w) for w in decoy["window"])
    assert canary.height == 30 and canary["timestamp"].is_between(start, end, closed="left").all()
    assert _rate(canary) == (3, 30) == (decoy["ungrounded"], decoy["judged"])
    rest = table.filter(pl.col("prompt_version") != decoy["segment"]["prompt_version"], pl.col("day") == 4)
    assert _fisher(_rate(canary), _rate(rest)) > 0.05


def test_judging_twice_as_many_requests_leaves_the_ungrounded_rate_alone(table):
    decoy = PLANTED["decoys"]["judged_share"]
    at = _t(decoy["at"])
    ok = table.filter(pl.col("status") == "ok", ~((pl.col("query_type") == "billing") & (pl.col("model_version")
                                                                                         == "v7")))
    before, after = ok.filter(pl.col("timestamp") < at), ok.filter(pl.col("timestamp") >= at)
    share = (before["grounded"].count() / before.height, after["grounded"].count() / after.height)
    assert 0.08 < share[0] < 0.12 and 0.17 < share[1] < 0.23
    assert _fisher(_rate(after), _rate(before)) > 0.05
    assert all(0.025 < r[0] / r[1] < 0.06 for r in (_rate(before), _rate(after)))


def test_generation_latency_follows_a_slow_day_of_week_wave_only(table):
    generation = table.filter(pl.col("api_key") != "key_42").with_columns(
        generate=pl.col("latency_ms") - pl.col("retrieval_latency_ms"))
    per_day = generation.group_by("day").agg(pl.col("generate").median()).sort("day")["generate"]
    week = generation["generate"].median()
    assert (per_day / week - 1).abs().max() < 0.12
    assert per_day[3] > per_day[0] and per_day[3] > per_day[6]  # Thursday slower than Monday and Sunday
    regions = generation.group_by("region", pl.col("timestamp") >= _t(PLANTED["cost_increase"]["window"][0])).agg(
        pl.col("generate").median())
    assert regions["generate"].max() / regions["generate"].min() < 1.1  # no region's latency moved


def test_demo_data_writes_the_llm_app_folder(tmp_path):
    from workbench.cli.demo import write_demo_data

    target = write_demo_data(tmp_path / "sample_data")
    names = {p.name for p in (target / "llm_app").iterdir()}
    assert names == {"generate.py", "requests.parquet", "spans.otlp.jsonl.gz", "prices.yaml", "planted.json",
                     "llm.yaml"}  # llm.yaml: the options of `workbench llm --config`
    assert (target / "llm_app" / "requests.parquet").read_bytes() == (DATA / "requests.parquet").read_bytes()


def test_without_the_problems_nothing_moves_and_the_decoys_stay():
    null = g.request_table(g.simulate(g.SEED, g.SIZE, problems=False))
    facts = g.planted(null, problems=False)
    assert facts["problems"] is None and facts["decoys"]["tiny_segment"]["ungrounded"] == 3
    assert not {"hallucination_rate_increase", "token_spike", "retrieval_quality_drop", "cost_increase"} & set(facts)
    v7 = pl.col("model_version") == "v7"
    billing = null.filter(pl.col("query_type") == "billing", pl.col("prompt_version") == g.PROMPT)
    before, after = _rate(billing.filter(~v7)), _rate(billing.filter(v7))
    assert abs(after[0] / after[1] - 0.04) < 0.003 and _fisher(after, before) > 0.5
    spike = _t(PLANTED["token_spike"]["window"][0])
    key = null.filter(pl.col("api_key") == "key_42", pl.col("timestamp").dt.hour().is_between(14, 16),
                      pl.col("timestamp").dt.weekday() <= 5).group_by(pl.col("timestamp").dt.date()).agg(
        (pl.col("input_tokens") + pl.col("output_tokens")).sum().alias("tokens"))
    assert key.filter(pl.col("timestamp") == spike.date())["tokens"].item() < 4 * key["tokens"].median()
    rebuild = pl.col("timestamp") >= _t(PLANTED["retrieval_quality_drop"]["window"][0])
    apac = null.filter(pl.col("region") == "apac", rebuild)
    assert apac.filter("relevance_known")["first_relevant_rank"].is_not_null().mean() > 0.75
    assert (apac["retrieved"] == 0).mean() < 0.035
    switch = pl.col("timestamp") >= _t(PLANTED["cost_increase"]["window"][0])
    eu = null.filter(pl.col("region") == "eu")
    assert 0.7 < eu.filter(switch)["cost"].mean() / eu.filter(~switch)["cost"].mean() < 1.3
