"""The evaluation set's clip scripts: seeded, balanced, independent of the set's size."""

from __future__ import annotations

from collections import Counter

from dialer.amd.corpus_spec import EVALUATION_SEED, TUNING_SEED, Beep, Pause, Say, clip_spec


def test_same_seed_and_index_give_the_same_clip() -> None:
    assert clip_spec(TUNING_SEED, 17) == clip_spec(TUNING_SEED, 17)


def test_seeds_draw_different_clips() -> None:
    tuning = [clip_spec(TUNING_SEED, index) for index in range(50)]
    held_out = [clip_spec(EVALUATION_SEED, index) for index in range(50)]
    shared = {(spec.speaker, spec.parts) for spec in tuning} & {
        (spec.speaker, spec.parts) for spec in held_out
    }
    assert not shared


def test_labels_alternate_so_any_prefix_is_balanced() -> None:
    labels = Counter(clip_spec(TUNING_SEED, index).label for index in range(40))
    assert labels == {"human": 20, "machine": 20}


def test_scripts_start_with_silence_and_only_machines_beep() -> None:
    specs = [clip_spec(TUNING_SEED, index) for index in range(200)]
    for spec in specs:
        assert isinstance(spec.parts[0], Pause)
        assert isinstance(spec.parts[1], Say)
        assert (spec.label == "machine") or not any(isinstance(part, Beep) for part in spec.parts)
    beeping = sum(
        any(isinstance(part, Beep) for part in spec.parts) for spec in specs if spec.label == "machine"
    )
    assert 60 < beeping < 100  # most machines, not all


def test_line_conditions_vary() -> None:
    lines = [clip_spec(TUNING_SEED, index).line for index in range(200)]
    assert {line.noise for line in lines} == {None, "white", "pink", "brown"}
    assert {line.codec for line in lines} == {None, "ulaw", "gsm"}
    assert min(line.gain_db for line in lines) < -12 < 0 < max(line.gain_db for line in lines)
