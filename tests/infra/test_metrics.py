"""`/metrics` scraped over HTTP from the real app served by uvicorn, on a ledger filled through the
real dial gate: names, labels and values of every metric family, and who may scrape."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from campaigns.models import Campaign, CampaignStatus
from compliance.attempts import CallResult, complete, mark_dialing
from compliance.models import DialingMode, Outcome
from dialer.sip.config import NodeConfig, Trunk
from dialer.sip.node import SipNode
from infra.metrics import record_pacer_decision
from infra.models import Client, Role
from infra.settings import Settings
from tests.compliance.gate_fixtures import Account, add_people, make_gate
from tests.conftest import Database
from tests.threaded_server import ThreadedServer as Served
from tests.workbench.conftest import CHEAP_HASHER, PASSWORD, add_user
from workbench.app import create_app

TOKEN = "scrape-" + "t" * 32
# 13:00 in Chicago on Tuesday 3 June 2025: the app's clock during the scrape.
NOW = dt.datetime(2025, 6, 3, 18, 0, tzinfo=dt.UTC)
MORNING = dt.datetime(2025, 6, 3, 15, 0, tzinfo=dt.UTC)  # 10:00 in Chicago
NIGHT = dt.datetime(2025, 6, 3, 4, 0, tzinfo=dt.UTC)  # 23:00 in Chicago: outside calling hours
SECONDS = dt.timedelta(seconds=1)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _serve(db: Database, tmp_path: Path, token: str) -> Served:
    settings = Settings(data_dir=tmp_path, database_url=db.url, secret_key="s" * 64, metrics_token=token)
    return Served(create_app(settings, clock=lambda: NOW, password_hasher=CHEAP_HASHER))


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[Served]:
    with _serve(db, tmp_path, TOKEN) as server:
        yield server


@pytest.fixture
def served_on_sqlite(sqlite_database: Database, tmp_path: Path) -> Iterator[Served]:
    """For figures that do not come from the database."""
    with _serve(sqlite_database, tmp_path, TOKEN) as server:
        yield server


def scrape(server: Served) -> Samples:
    response = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def add_campaign(db: Database) -> int:
    with db.sessions.begin() as session:
        client_id = session.scalar(sa.select(Client.id))
        campaign = Campaign(client_id=client_id, name="Spring", status=CampaignStatus.ACTIVE, settings={})
        session.add(campaign)
        session.flush()
        return campaign.id


def call(
    db: Database,
    account: Account,
    at: dt.datetime,
    outcome: Outcome,
    campaign_id: int | None,
    *,
    connect_after_s: float | None = None,
) -> None:
    """A call the real gate allowed and the ledger completed; answered 20 s in when live."""
    request = dataclasses.replace(account.request(at, DialingMode.PREDICTIVE), campaign_id=campaign_id)
    result = make_gate(db.sessions).reserve(request)
    assert result.allowed, result.verdict
    assert result.attempt_uuid is not None
    answered = at + 20 * SECONDS if outcome in {Outcome.CONVERSATION, Outcome.ABANDONED} else None
    connected = None if answered is None or connect_after_s is None else answered + connect_after_s * SECONDS
    with db.sessions.begin() as session:
        mark_dialing(session, result.attempt_uuid, at)
        complete(
            session,
            result.attempt_uuid,
            CallResult(
                outcome=outcome, ended_at=at + 180 * SECONDS, answered_at=answered, connected_at=connected
            ),
        )


def denied_rule(db: Database, account: Account, at: dt.datetime) -> str:
    result = make_gate(db.sessions).reserve(account.request(at))
    assert not result.allowed
    rule = result.verdict["rule"]
    assert isinstance(rule, str)
    assert rule
    return rule


def test_the_ledger_and_agent_states_are_read_at_scrape_time(db: Database, served: Served) -> None:
    people = add_people(db.sessions, 12)
    campaign = add_campaign(db)
    in_time, late, abandoned, no_answer, machine = people[:5]
    call(db, in_time, MORNING, Outcome.CONVERSATION, campaign, connect_after_s=1.5)
    call(db, late, MORNING, Outcome.CONVERSATION, campaign, connect_after_s=2.5)  # abandoned by the 2 s rule
    call(db, abandoned, MORNING, Outcome.ABANDONED, campaign)
    call(db, no_answer, MORNING, Outcome.NO_ANSWER, campaign)
    call(db, machine, MORNING, Outcome.MACHINE, campaign)
    call(
        db, people[5], MORNING - 10 * dt.timedelta(days=1), Outcome.CONVERSATION, campaign, connect_after_s=1
    )
    call(db, people[6], MORNING - 10 * dt.timedelta(days=1), Outcome.ABANDONED, campaign)
    call(db, people[7], MORNING - 40 * dt.timedelta(days=1), Outcome.ABANDONED, campaign)  # outside 30 days
    call(db, people[8], MORNING - dt.timedelta(days=1), Outcome.NO_ANSWER, campaign)  # yesterday
    call(db, people[9], MORNING, Outcome.CONVERSATION, None, connect_after_s=1)  # a manual call
    rule = denied_rule(db, people[10], NIGHT)
    denied_rule(db, people[11], NIGHT)

    samples = scrape(served)

    label = str(campaign)
    today_calls = {
        outcome: value(samples, "arrears_calls_total", campaign_id=label, outcome=outcome)
        for outcome in ("conversation", "abandoned", "no_answer", "machine")
    }
    assert today_calls == {"conversation": 2, "abandoned": 1, "no_answer": 1, "machine": 1}
    assert value(samples, "arrears_calls_total", campaign_id="", outcome="conversation") == 1
    midnight = dt.datetime(2025, 6, 3, tzinfo=dt.UTC).timestamp()
    assert value(samples, "arrears_calls_created", campaign_id=label, outcome="machine") == midnight

    assert value(samples, "arrears_abandon_live_answered", campaign_id=label, window="today") == 3
    assert value(samples, "arrears_abandon_abandoned", campaign_id=label, window="today") == 2
    assert value(samples, "arrears_abandon_rate", campaign_id=label, window="today") == pytest.approx(2 / 3)
    assert value(samples, "arrears_abandon_live_answered", campaign_id=label, window="30d") == 5
    assert value(samples, "arrears_abandon_abandoned", campaign_id=label, window="30d") == 3
    assert value(samples, "arrears_abandon_rate", campaign_id=label, window="30d") == pytest.approx(3 / 5)

    assert value(samples, "arrears_gate_denials_total", rule=rule) == 2
    assert value(samples, "arrears_gate_decisions_total", verdict="denied") == 2
    assert value(samples, "arrears_gate_decisions_total", verdict="allowed") == 6  # today's reservations

    assert value(samples, "arrears_agents", state="ready", pause_code="") == 0
    sign_in_agent(db, served)
    samples = scrape(served)
    assert value(samples, "arrears_agents", state="paused", pause_code="login") == 1
    assert value(samples, "arrears_agents", state="ready", pause_code="") == 0


def sign_in_agent(db: Database, served: Served) -> None:
    add_user(db, "jo", Role.AGENT)
    with httpx.Client(base_url=served.url) as browser:
        form = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        signed_in = browser.post(
            "/login", data={"csrf_token": token.group(1), "username": "jo", "password": PASSWORD}
        )
        assert signed_in.status_code == 303, signed_in.text


def test_pacer_decisions_of_an_engine_in_the_same_process_are_exposed(served_on_sqlite: Served) -> None:
    campaign = str(uuid.uuid4().int % 10**9)  # a label no other test uses
    record_pacer_decision(int(campaign), wanted=5, launched=3)
    record_pacer_decision(int(campaign), wanted=2, launched=2)
    samples = scrape(served_on_sqlite)
    assert value(samples, "arrears_pacer_decisions_total", campaign_id=campaign) == 2
    assert value(samples, "arrears_pacer_calls_wanted_total", campaign_id=campaign) == 7
    assert value(samples, "arrears_pacer_calls_launched_total", campaign_id=campaign) == 5


@pytest.mark.sip
def test_a_running_sip_node_reports_its_workers(served_on_sqlite: Served) -> None:
    served = served_on_sqlite
    trunk = Trunk("sim", "sip:{number}@127.0.0.1:5999", "sip:+15550100@127.0.0.1")
    node = SipNode(NodeConfig(trunks=(trunk,), capacity=6))
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(node.start())
        samples = scrape(served)
        node_label = next(
            dict(labels)["node"] for name, labels in samples if name == "arrears_sip_worker_restarts_total"
        )
        workers = {
            dict(labels)["worker"]: sample
            for (name, labels), sample in samples.items()
            if name == "arrears_sip_worker_up" and dict(labels)["node"] == node_label
        }
        assert workers == {str(worker.index): 1 for worker in node.workers}
        first = {"node": node_label, "worker": "0"}
        assert value(samples, "arrears_sip_worker_capacity", **first) == node.workers[0].capacity > 0
        assert value(samples, "arrears_sip_worker_legs", **first) == 0
        assert value(samples, "arrears_sip_worker_restarts_total", node=node_label) == 0
    finally:
        loop.run_until_complete(node.stop())
        loop.close()
    assert not any(
        name == "arrears_sip_worker_up" and dict(labels)["node"] == node_label
        for name, labels in scrape(served)
    )


def test_metrics_need_the_token_and_do_not_exist_without_one(db: Database, tmp_path: Path) -> None:
    with _serve(db, tmp_path / "open", TOKEN) as server:
        url = f"{server.url}/metrics"
        assert httpx.get(url).status_code == 401
        wrong = httpx.get(url, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        assert httpx.get(url, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    with _serve(db, tmp_path / "closed", "") as server:
        url = f"{server.url}/metrics"
        assert httpx.get(url).status_code == 404
        assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
