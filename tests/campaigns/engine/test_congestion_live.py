"""A congested trunk over real SIP: the carrier simulator has 4 circuits and answers 503 "no
circuit" beyond them, while an aggressive ratio pacer wants far more calls in flight. Launching
holds after failures in a row instead of spending people's retries on a trunk that refuses them."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from campaigns.engine.demo import demo_settings, run_demo
from compliance.models import ContactAttempt, Outcome
from tests.conftest import Database

pytestmark = [pytest.mark.sip, pytest.mark.slow]


async def test_a_congested_trunk_holds_launching(pg_database: Database) -> None:
    settings = demo_settings(talk_mean_s=6.0, wrap_mean_s=2.0, pacer="ratio")
    settings["pacing"]["max_dial_ratio"] = 5.0
    settings["engine"]["pacer_params"] = {"level": 5.0}
    result = await run_demo(
        pg_database.sessions,
        agents=6,
        seconds=20.0,
        talk_mean_s=6.0,
        wrap_mean_s=2.0,
        people=400,
        settings=settings,
        carrier_backends=1,
    )
    with pg_database.sessions() as session:
        outcomes = Counter(
            session.scalars(
                sa.select(ContactAttempt.outcome).where(ContactAttempt.campaign_id == result.campaign_id)
            ).all()
        )
    assert outcomes[Outcome.NETWORK_FAILURE] > 0, outcomes  # the trunk was congested
    assert sum(outcomes.values()) - outcomes[Outcome.NETWORK_FAILURE] > 0, outcomes  # and calls went on
    # Without the window: about 175 refusals in these 20 s; with it, about 15.
    assert outcomes[Outcome.NETWORK_FAILURE] <= 60, outcomes
