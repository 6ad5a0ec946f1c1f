"""`despp replay`: a call log streamed over HTTP into a live server, counted and loss-checked."""

import asyncio
import csv
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from pytest_django.live_server_helper import LiveServer

from despp.core import jurisdiction, tokens
from despp.core.models import User
from despp.dispatch import replay
from despp.dispatch.models import Call
from despp.dispatch.reference import load_reference_data
from tests.fixtures_reference import Snapshot, reference_snapshot  # noqa: F401

SAMPLES = Path(replay.__file__).parent / "data" / "samples"
# Points in CSP Eastern District Dispatch towns (the calltaker persona's PSAP).
LOG = """Received,Y,X,Type,Narrative,Incident No
11/27/2026 08:00:05,41.8786,-72.3648,MVA,two cars in the ditch,A-1
11/27/2026 08:00:35,41.7883,-72.2291,FALL,elderly man fell,A-2
11/27/2026 08:01:10,41.8786,-72.3648,BOGUS,not a nature code,A-3
11/27/2026 08:01:40,41.7883,-72.2291,,no nature given,A-4
not a time,41.7,-72.3,MVA,unreadable row,A-5
11/27/2026 08:02:00,95.0,-72.3,MVA,latitude out of range,A-6
"""
MAP = "time=Received,lat=Y,lon=X,nature=Type,description=Narrative,id=Incident No"


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text(LOG, encoding="utf-8")
    return path


# --- reading the log --------------------------------------------------------------------------


def test_the_mapping_names_columns_and_a_missing_one_is_named_with_the_files_columns(
    log_file: Path,
) -> None:
    with pytest.raises(replay.MappingError) as refused:
        replay.read_log(log_file, replay.parse_mapping("time=Received,lat=Lat,lon=X"))
    message = str(refused.value)
    assert "lat -> 'Lat'" in message
    assert "its columns are: Received, Y, X, Type, Narrative, Incident No" in message


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("time=Received,speed=Y", "unknown field 'speed'"),
        ("time=Received,lat", "must read field=Column"),
        ("no-such-file.map", "neither field=Column pairs nor a mapping file"),
    ],
)
def test_a_bad_mapping_says_what_to_change(spec: str, complaint: str) -> None:
    with pytest.raises(replay.MappingError, match=complaint):
        replay.parse_mapping(spec)


def test_rows_are_read_in_time_order_and_unreadable_rows_are_skipped_with_their_line(
    log_file: Path,
) -> None:
    log = replay.read_log(log_file, replay.parse_mapping(MAP), run_id="t1")
    assert [call.line for call in log.calls] == [2, 3, 4, 5]
    assert [call.offset_s for call in log.calls] == [0, 30, 65, 95]
    assert [call.source_ref for call in log.calls] == ["t1-A-1", "t1-A-2", "t1-A-3", "t1-A-4"]
    assert log.calls[0].nature == "MVA" and log.calls[3].nature == ""
    assert [line for line, _ in log.skipped] == [6, 7]
    assert "not a date and time" in log.skipped[0][1]
    assert "lat 95.0 is outside" in log.skipped[1][1]


def test_a_mapping_file_and_per_field_options_work_like_the_inline_mapping(
    log_file: Path, tmp_path: Path
) -> None:
    mapping_file = tmp_path / "cad.map"
    mapping_file.write_text("# our CAD export\ntime = Received\nlat=Y\nlon=X\n", encoding="utf-8")
    mapping = replay.parse_mapping(str(mapping_file), {"nature": "Type", "lat": None})
    assert (mapping["time"], mapping["lat"], mapping["nature"]) == ("Received", "Y", "Type")


def test_the_default_run_id_comes_from_the_file_so_a_rerun_resends_the_same_refs(
    log_file: Path,
) -> None:
    first = replay.read_log(log_file, replay.parse_mapping(MAP))
    again = replay.read_log(log_file, replay.parse_mapping(MAP))
    assert first.run_id == again.run_id and first.run_id.startswith("replay-")


def test_the_shipped_sample_uses_shipped_nature_codes_and_its_own_mapping() -> None:
    table = SAMPLES.parent / "nature_codes.csv"
    with table.open(encoding="utf-8") as rows:
        known = {row["code"] for row in csv.DictReader(rows)}
    log = replay.read_log(
        SAMPLES / "ct-synthetic-24h.csv", replay.parse_mapping(str(SAMPLES / "ct-synthetic.map"))
    )
    assert len(log.calls) > 500 and log.skipped == []
    assert {call.nature for call in log.calls} <= known
    assert max(call.offset_s for call in log.calls) > 23 * 3600


# --- over HTTP, against a live server -----------------------------------------------------------


@pytest.fixture
def live_data(reference_snapshot: Snapshot, transactional_db: None) -> Iterator[None]:  # noqa: F811
    """Reference geography and dispatch tables, committed so the live server's thread sees
    them (the flush after the test removes them)."""
    with transaction.atomic():
        for model, rows in reference_snapshot.items():
            model._default_manager.bulk_create(model(**row) for row in rows)
    load_reference_data()
    jurisdiction.invalidate()
    yield
    jurisdiction.invalidate()


@pytest.fixture
def token(live_data: None, calltaker: User) -> str:
    return tokens.issue_token(calltaker, "replay test").plaintext


def _replay(
    live_server: LiveServer, token: str, calls: list[replay.LogCall]
) -> replay.ReplayResult:
    async def run() -> replay.ReplayResult:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            sender = replay.Sender(client=client, base_url=live_server.url, retries=1)
            # One at a time: the live server shares SQLite's in-memory test database.
            return await replay.replay(calls, sender, rate=50, concurrency=1)

    return asyncio.run(run())


def test_replay_sends_every_row_counts_the_answers_and_finds_every_accepted_call_stored(
    live_server: LiveServer, token: str, log_file: Path
) -> None:
    log = replay.read_log(log_file, replay.parse_mapping(MAP), run_id="live")
    result = _replay(live_server, token, log.calls)
    assert result.by_status() == {"201": 3, "422": 1}
    failed = result.failed[0]
    assert failed.call.source_ref == "live-A-3" and "nature" in failed.problem
    assert len(result.latencies_s) == 4
    assert replay.check_loss(result) == []
    assert Call.objects.filter(source_ref__startswith="live-").count() == 3
    assert result.summary_line() == "sent 4, accepted 3, lost 0"


def test_replaying_the_same_rows_again_adds_no_call(
    live_server: LiveServer, token: str, log_file: Path
) -> None:
    log = replay.read_log(log_file, replay.parse_mapping(MAP), run_id="twice")
    accepted = [c for c in log.calls if c.nature != "BOGUS"]
    _replay(live_server, token, accepted)
    again = _replay(live_server, token, accepted)
    assert again.by_status() == {"200": 3}
    assert Call.objects.filter(source_ref__startswith="twice-").count() == 3


def test_the_loss_check_names_an_accepted_call_that_is_not_in_the_database(
    live_server: LiveServer, token: str, log_file: Path
) -> None:
    log = replay.read_log(log_file, replay.parse_mapping(MAP), run_id="gone")
    result = _replay(live_server, token, log.calls)
    # Behind the replay's back: calls are not append-only (the event log is).
    Call.objects.filter(source_ref="gone-A-2").delete()
    assert replay.check_loss(result) == ["gone-A-2"]
    assert result.summary_line() == "sent 4, accepted 3, lost 1"


def test_the_command_prints_the_figures_and_ends_with_sent_accepted_lost(
    live_server: LiveServer, token: str, log_file: Path
) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="not every call was accepted"):
        call_command(
            "replay", str(log_file), "--url", live_server.url, "--token", token,
            "--map", MAP, "--rate", "40", "--run-id", "cmd", "--concurrency", "1", stdout=out,
        )  # fmt: skip
    text = out.getvalue()
    assert "4 calls to send (run cmd), 2 rows skipped" in text
    for figure in ("throughput", "p50", "p99", "max", "201: 3", "422: 1", "all 3 accepted"):
        assert figure in text
    assert text.strip().splitlines()[-1] == "sent 4, accepted 3, lost 0"


def test_the_command_explains_a_mapping_that_does_not_fit_the_file(log_file: Path) -> None:
    with pytest.raises(CommandError, match="no column for lat -> 'lat'"):
        call_command("replay", str(log_file), "--token", "dsp_x", "--time-col", "Received")


def test_the_command_wants_a_token(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESPP_TOKEN", raising=False)
    with pytest.raises(CommandError, match="DESPP_TOKEN"):
        call_command("replay", str(log_file), "--map", MAP)
