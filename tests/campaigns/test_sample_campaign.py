"""`arrears sample campaign`: a campaign a scale-out install can dial at once, with agents who can
sign in, every user change audited."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from campaigns.models import CallListMember, Campaign, CampaignList, CampaignStatus, DialMode
from campaigns.sample_cli import sample
from compliance.audit import verify
from compliance.models import AuditEvent
from compliance.users_cli import audit_change
from infra.settings import ENV_PREFIX, get_settings
from infra.users import authenticate
from tests.conftest import Database


@pytest.fixture
def configured(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in [name for name in os.environ if name.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(f"{ENV_PREFIX}DATABASE_URL", db.url)
    monkeypatch.setenv(f"{ENV_PREFIX}DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_sample_campaign_is_active_with_agents_who_can_sign_in(db: Database, configured: Path) -> None:
    result = CliRunner().invoke(
        sample, ["campaign", "--people", "6", "--agents", "2", "--carrier-port", "5099"]
    )
    assert result.exit_code == 0, result.output
    assert "(client engine-demo-" in result.output
    assert "trunk sim" in result.output
    assert "127.0.0.1:5099" in result.output

    with db.sessions() as session:
        campaign = session.scalars(sa.select(Campaign)).one()
        members = session.scalar(
            sa.select(sa.func.count())
            .select_from(CallListMember)
            .join(CampaignList, CampaignList.list_id == CallListMember.list_id)
            .where(CampaignList.campaign_id == campaign.id)
        )
        actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert (campaign.status, campaign.dial_mode, campaign.trunk) == (
        CampaignStatus.ACTIVE,
        DialMode.PREDICTIVE,
        "sim",
    )
    assert members == 6

    credentials = configured / "samples" / f"campaign-{campaign.id}-agents.txt"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    lines = credentials.read_text().splitlines()
    assert len(lines) == 2
    for line in lines:
        username, password = line.split(" ")
        assert authenticate(db.sessions, username, password, on_change=audit_change) is not None
    assert actions.count("user.created") == 2
    assert actions.count("user.password_set") == 2
    with db.sessions() as session:
        assert verify(session).intact
