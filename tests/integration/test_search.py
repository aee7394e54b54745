"""Search end to end in local mode: the synthesized pipeline indexes what it processed, the
deployed search function (invoked under IAM, as an application would) finds it, and the index
stays one set of vectors per object across runs, with a failed item never in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmpipe.cli import main
from mmpipe.local.faults import parse_faults
from mmpipe.local.run.runner import LocalRun
from mmpipe.search import SearchFailed
from pipeline_contracts.records import ItemResult
from pipeline_contracts.search import SearchRequest, SearchResponse
from tests.integration.conftest import outcome_for


def _search(cdk_out: Path, out: Path, inject: str | None = None, **request) -> SearchResponse:
    return LocalRun(cdk_out, out, faults=parse_faults(inject)).search(SearchRequest(**request))


def _vectors(out: Path) -> list[dict]:
    lines = (out / "search" / "vectors.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]


@pytest.fixture(scope="module")
def demo_out(cdk_out: Path, demo: Path, tmp_path_factory) -> Path:
    """The demo, as `make demo` runs it (real recognition and OCR)."""
    out = tmp_path_factory.mktemp("search") / "out"
    report = LocalRun(cdk_out, out, providers="local").run(sorted(demo.iterdir()))
    assert report.ok
    assert not report.refusals
    return out


def _item(out: Path, name: str) -> str:
    summary = json.loads((out / "summary.json").read_text())
    return next(i["item_id"] for i in summary["items"] if Path(i["input"]).name == name)


@pytest.mark.parametrize(
    ("query", "input_name", "modalities"),
    [
        # A phrase the speech says (recognised offline), found with its time span
        ("every file you upload is checked and stored safely", "speech.wav", {"speech"}),
        # Words printed on the poster (read by OCR), found by the image
        ("summer sale: all mugs at half price", "poster.png", {"image", "summary"}),
        # The product, by what its description says
        ("a blue ceramic coffee mug that goes in the dishwasher", "product", {"text", "image"}),
        # The lecture, by what its captions and speech say
        ("how rivers carry sand down to the sea", "lecture", {"captions", "speech", "video"}),
    ],
)
def test_the_demo_is_found_by_what_it_says_shows_and_describes(
    cdk_out: Path, demo_out: Path, query: str, input_name: str, modalities: set[str]
) -> None:
    answer = _search(cdk_out, demo_out, query=query, top_k=5)
    top = answer.hits[0]
    assert top.item_id == _item(demo_out, input_name)
    assert top.modality in modalities
    # A margin over the best hit of another item, not a near tie
    others = [h.score for h in answer.hits if h.item_id != top.item_id]
    assert not others or top.score - max(others) > 0.1
    assert top.result_uri.endswith(f"/{top.item_id}.json")
    if top.modality in ("speech", "captions"):
        assert top.start_s is not None
        assert top.end_s is not None
        assert top.end_s > top.start_s


def test_an_image_finds_itself_and_filters_narrow_the_hits(
    cdk_out: Path, demo_out: Path, demo: Path
) -> None:
    import base64

    poster = base64.b64encode((demo / "poster.png").read_bytes()).decode()
    answer = _search(cdk_out, demo_out, image_base64=poster, image_format="png", top_k=3)
    assert answer.hits[0].item_id == _item(demo_out, "poster.png")
    only_speech = _search(cdk_out, demo_out, query="mug", modalities=["speech"], top_k=10)
    assert only_speech.hits
    assert {h.modality for h in only_speech.hits} == {"speech"}


def test_json_lists_the_hits_with_their_fields(demo_out: Path, capsys) -> None:
    code = main(["search", "rivers shape the land", "--local", str(demo_out), "--json"])
    assert code == 0
    hits = json.loads(capsys.readouterr().out)
    assert isinstance(hits, list)
    assert hits
    for field in (
        "score",
        "item_id",
        "asset_id",
        "modality",
        "start_s",
        "end_s",
        "page",
        "snippet",
        "result_uri",
        "record",
    ):
        assert field in hits[0]
    assert hits[0]["record"]
    assert Path(hits[0]["record"]).is_file()


def test_the_search_role_is_enforced(cdk_out: Path, demo_out: Path) -> None:
    # QueryVectors with a filter and metadata needs GetVectors too: without it, refused
    with pytest.raises(SearchFailed, match="AccessDenied"):
        _search(cdk_out, demo_out, inject="deny=s3vectors:GetVectors", query="mug")


def test_processing_twice_leaves_one_set_of_vectors_and_hits_the_cache(run_local, demo) -> None:
    first = run_local(sorted(demo.iterdir()))
    out = first.out_dir
    before = _vectors(out)
    second = run_local(sorted(demo.iterdir()))
    after = _vectors(out)
    assert second.search["restored_vectors"] == len(before)
    # One set: as many vectors as before, every one of them from the second run's items
    assert len(after) == len(before)
    second_items = {o.item_id for o in second.outcomes if o.place == "processed"}
    assert {v["metadata"]["item_id"] for v in after} == second_items
    for outcome in second.outcomes:
        if outcome.place != "processed":
            continue
        result = ItemResult.model_validate_json(Path(outcome.record_file).read_text())
        assert result.search is not None
        assert result.search.status == "indexed"
        # Nothing embedded again: every piece came from the cache
        assert result.search.embedded == 0
        assert result.search.cache_hits == result.search.vectors > 0
        assert result.search.removed == result.search.vectors


def test_a_failed_item_leaves_no_vectors(run_local, demo) -> None:
    report = run_local([demo / "speech.wav"], inject="lambda-raise=result_writer")
    outcome = outcome_for(report, "speech.wav")
    assert outcome.place == "failed"
    # It was indexed before the write failed; its ending removed it again
    entered = [
        e["stateExitedEventDetails"]["name"]
        for e in outcome.history
        if e.get("stateExitedEventDetails")
    ]
    assert "Index for search" in entered
    assert not any(v["metadata"]["item_id"] == outcome.item_id for v in _vectors(report.out_dir))


def test_an_index_that_refuses_degrades_the_item_and_says_why(run_local, demo) -> None:
    report = run_local([demo / "poster.png"], inject="deny=s3vectors:PutVectors")
    outcome = outcome_for(report, "poster.png")
    assert outcome.place == "degraded"
    result = ItemResult.model_validate_json(Path(outcome.record_file).read_text())
    assert "search" in result.degraded_branches
    assert result.search is not None
    assert result.search.status == "failed"
    assert result.search.error == "AccessDenied"
    assert {r.permission.action for r in report.refusals} == {"s3vectors:PutVectors"}
