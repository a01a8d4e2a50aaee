"""Pure parts of the SIP layer: SIP text parsing, admission, pacing, early media, profiles, config."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.carrier.front import response
from dialer.carrier.profiles import TEST_NUMBERS, WEIGHTS, Profile, behaviour_for
from dialer.outcomes import EarlyMedia
from dialer.sip import early_media
from dialer.sip.admission import Spacer, WorkerLoad, choose_worker, pool_size, reserve
from dialer.sip.config import NodeConfig, Trunk, node_config_from_dict
from dialer.sip.protocol import Command, Event
from dialer.sip.sipmsg import Reason, parse, parse_reasons, q850_cause, user_part

BYE = (
    "BYE sip:dialer@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
    "v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK2\r\n"
    "From: <sip:+15550101@carrier>;tag=a\r\n"
    "To: <sip:+15550100@dialer>;tag=b\r\n"
    "i: abc@host\r\n"
    "CSeq: 2 BYE\r\n"
    'Reason: SIP;cause=200;text="Call completed elsewhere",\r\n'
    ' Q.850;cause=16;text="Normal, call clearing"\r\n'
    "Content-Length: 0\r\n\r\n"
)


def test_parse_reads_compact_and_folded_headers() -> None:
    message = parse(BYE)
    assert message.method == "BYE"
    assert message.request_uri == "sip:dialer@127.0.0.1:5060"
    assert len(message.all("via")) == 2
    assert message.header("call-id") == "abc@host"
    assert q850_cause(message) == Reason("Q.850", 16, "Normal, call clearing")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Q.850;cause=17", [Reason("Q.850", 17, "")]),
        ('Q.850 ; cause = 1 ; text="Unallocated, number"', [Reason("Q.850", 1, "Unallocated, number")]),
        ('SIP;cause=600;text="Busy",Q.850;cause=17', [Reason("SIP", 600, "Busy"), Reason("Q.850", 17, "")]),
        ("Q.850;text=x", []),
        ("", []),
    ],
)
def test_parse_reasons(value: str, expected: list[Reason]) -> None:
    assert parse_reasons(value) == expected


def test_response_is_none_when_there_is_no_reason() -> None:
    assert q850_cause(parse("SIP/2.0 486 Busy Here\r\nCall-ID: x\r\n\r\n")) is None


@pytest.mark.parametrize(
    ("uri", "user"),
    [
        ("sip:+15005550001@127.0.0.1:5080", "+15005550001"),
        ("<sip:agent-7@host;transport=udp>", "agent-7"),
        ("sip:host.example", ""),
    ],
)
def test_user_part(uri: str, user: str) -> None:
    assert user_part(uri) == user


def test_carrier_response_echoes_the_transaction_and_adds_a_stable_tag() -> None:
    invite = parse(BYE.replace("BYE sip:", "INVITE sip:").replace("2 BYE", "1 INVITE").replace(";tag=b", ""))
    first = parse(response(invite, 486, "Busy Here", [("Reason", "Q.850;cause=17")]).decode())
    again = parse(response(invite, 486, "Busy Here", []).decode())
    assert first.start_line == "SIP/2.0 486 Busy Here"
    assert first.all("via") == invite.all("via")
    assert first.header("cseq") == "1 INVITE"
    assert first.header("to") == again.header("to")
    assert ";tag=" in (first.header("to") or "")


@pytest.mark.parametrize(
    ("capacity", "max_calls", "workers"),
    [(8, 4, 2), (12, 4, 3), (9, 4, 3), (2, 4, 1), (200, 4, 50), (200, 512, 1), (10, 5, 3)],
)
def test_pool_size_follows_the_compiled_call_limit(capacity: int, max_calls: int, workers: int) -> None:
    assert pool_size(capacity, max_calls) == workers


def test_pool_size_refuses_a_limit_that_cannot_hold_a_bridge() -> None:
    with pytest.raises(ValueError, match="bridge"):
        pool_size(8, 1)


loads = st.lists(
    st.builds(
        WorkerLoad,
        index=st.integers(0, 50),
        capacity=st.just(4),
        held=st.integers(0, 4),
        ready=st.booleans(),
        cooling_until=st.floats(0, 2),
    ),
    max_size=8,
    unique_by=lambda load: load.index,
)


@given(loads, st.integers(1, 2), st.floats(0, 2))
def test_choose_worker_never_overcommits(workers: list[WorkerLoad], need: int, now: float) -> None:
    chosen = choose_worker(workers, need, now)
    fits = [w for w in workers if w.ready and w.cooling_until <= now and w.capacity - w.held >= need]
    if chosen is None:
        assert not fits
    else:
        assert any(w.index == chosen for w in fits)
        assert max(w.capacity - w.held for w in fits) == next(
            w.capacity - w.held for w in fits if w.index == chosen
        )


def test_choose_worker_skips_cooling_and_unready_workers() -> None:
    workers = [
        WorkerLoad(0, 4, 0, True, 5.0),
        WorkerLoad(1, 4, 0, False, 0.0),
        WorkerLoad(2, 4, 3, True, 0.0),
    ]
    assert choose_worker(workers, 1, now=1.0) == 2
    assert choose_worker(workers, 2, now=1.0) is None
    assert choose_worker(workers, 2, now=6.0) == 0


@given(st.lists(st.floats(0, 10), min_size=1, max_size=30), st.floats(1, 50), st.floats(1, 50))
def test_reserve_spaces_setups_for_every_spacer(
    requests: list[float], worker_rate: float, trunk_rate: float
) -> None:
    worker, trunk = Spacer(worker_rate), Spacer(trunk_rate)
    starts = [reserve(now, [worker, trunk]) for now in sorted(requests)]
    gap = max(1 / worker_rate, 1 / trunk_rate)
    for earlier, later in itertools.pairwise(starts):
        assert later - earlier >= gap - 1e-9
    assert all(start >= now for start, now in zip(starts, sorted(requests), strict=True))


def test_reserve_does_not_delay_an_idle_spacer() -> None:
    spacer = Spacer(10)
    assert reserve(100.0, [spacer]) == 100.0
    assert math.isclose(reserve(100.0, [spacer]), 100.1)
    assert reserve(200.0, [spacer]) == 200.0


def _tone(*segments: tuple[float, float]) -> bytes:
    parts = []
    for frequency, seconds in segments:
        t = np.arange(int(8000 * seconds)) / 8000
        parts.append(0 if frequency == 0 else 8000 * np.sin(2 * np.pi * frequency * t))
        parts[-1] = np.broadcast_to(parts[-1], t.shape)
    return np.concatenate(parts).astype("<i2").tobytes()


def _noise(seconds: float) -> bytes:
    generator = np.random.default_rng(3)
    envelope = np.abs(np.sin(np.arange(int(8000 * seconds)) / 8000 * 2 * np.pi * 3))
    return (generator.normal(0, 3000, envelope.size) * envelope).astype("<i2").tobytes()


@pytest.mark.parametrize(
    ("pcm", "expected"),
    [
        (_tone((913.8, 0.274), (1370.6, 0.274), (1776.7, 0.380)) + _noise(1), EarlyMedia.SIT_TONE),
        (_tone((985.2, 0.274), (1428.5, 0.274), (1776.7, 0.380)), EarlyMedia.SIT_TONE),
        (_tone((440, 1.0), (0, 2.0), (440, 1.0)), EarlyMedia.RINGBACK),
        (_tone((425, 1.0), (0, 1.0)), EarlyMedia.RINGBACK),
        (_noise(2), EarlyMedia.ANNOUNCEMENT),
        (_tone((913.8, 0.274), (1370.6, 0.274)) + _noise(1), EarlyMedia.ANNOUNCEMENT),  # no third tone
        (_tone((0, 2.0)), EarlyMedia.SILENCE),
        (b"", EarlyMedia.SILENCE),
    ],
)
def test_early_media_classifier(pcm: bytes, expected: EarlyMedia) -> None:
    assert early_media.classify(pcm) is expected


def test_profiles_are_deterministic_and_fixed_numbers_are_forced() -> None:
    for number, profile in TEST_NUMBERS.items():
        assert behaviour_for(number, seed=1).profile is profile
        assert behaviour_for(number, seed=2).profile is profile
    assert behaviour_for("agent-3", 1).profile is Profile.AGENT
    numbers = [f"+1312555{n:04d}" for n in range(2000)]
    assert [behaviour_for(n, 5) for n in numbers] == [behaviour_for(n, 5) for n in numbers]
    assert [behaviour_for(n, 5) for n in numbers] != [behaviour_for(n, 6) for n in numbers]


def test_profile_shares_follow_the_weights() -> None:
    numbers = [f"+1{random.Random(n).randrange(10**9, 10**10)}" for n in range(5000)]
    counts = {profile: 0 for profile, _ in WEIGHTS}
    for number in numbers:
        counts[behaviour_for(number, 11).profile] += 1
    for profile, weight in WEIGHTS:
        assert abs(counts[profile] / len(numbers) * 100 - weight) < 2.5, profile


def test_config_rejects_a_ring_timeout_under_fifteen_seconds() -> None:
    trunk = Trunk("t", "sip:{number}@h", "sip:me@h")
    with pytest.raises(ValueError, match="15"):
        NodeConfig(trunks=(trunk,), ring_timeout_s=14.9)
    with pytest.raises(ValueError, match="number"):
        Trunk("t", "sip:fixed@h", "sip:me@h")
    with pytest.raises(ValueError, match="unique"):
        NodeConfig(trunks=(trunk, trunk))


def test_config_survives_the_trip_to_a_worker() -> None:
    from dataclasses import asdict

    config = NodeConfig(trunks=(Trunk("t", "sip:{number}@h", "sip:me@h", username="u", password="p"),))
    assert (
        node_config_from_dict(Command.decode(Command("configure", args=asdict(config)).encode()).args)
        == config
    )
    assert config.trunk("t").uri_for("+1555") == "sip:+1555@h"


def test_events_round_trip() -> None:
    event = Event("hangup", "c1", 12.5, {"sip_code": 486, "q850": None, "answered": False, "reason": "Busy"})
    assert Event.decode(event.encode()) == event
