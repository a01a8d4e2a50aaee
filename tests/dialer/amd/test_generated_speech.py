"""The detector on real espeak-ng speech: a small slice of the generated set, rendered afresh."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.amd.bench import bench_amd
from dialer.amd.corpus import Clip, ensure_corpus, render
from dialer.amd.corpus_spec import TEST_SUITE_SEED
from dialer.amd.evaluation import detect, detect_baseline, score
from dialer.amd.verdict import AmdConfig

CLIPS = 24


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("amd-corpus")


@pytest.fixture(scope="module")
def clips(corpus_dir: Path) -> list[Clip]:
    return ensure_corpus(CLIPS, TEST_SUITE_SEED, corpus_dir)


@pytest.mark.slow
def test_clips_are_8khz_mono_16bit_and_reproducible(clips: list[Clip]) -> None:
    with wave.open(str(clips[0].path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() > 8000
    assert render(clips[1].spec) == clips[1].pcm()


@pytest.mark.slow
def test_detector_accuracy_on_generated_speech(clips: list[Clip]) -> None:
    ours = score([detect(clip.pcm(), clip.spec.label, AmdConfig()) for clip in clips])
    theirs = score([detect_baseline(clip.pcm(), clip.spec.label) for clip in clips])
    assert ours.accuracy >= 0.9
    assert ours.humans_as_machine <= 1 / 12  # at most one of the twelve people
    assert ours.accuracy > theirs.accuracy


@pytest.mark.slow
def test_bench_command_prints_figures_against_the_baseline(clips: list[Clip], corpus_dir: Path) -> None:
    result = CliRunner().invoke(
        bench_amd, ["--clips", str(CLIPS), "--seed", str(TEST_SUITE_SEED), "--corpus-dir", str(corpus_dir)]
    )
    assert result.exit_code == 0, result.output
    for row in ("accuracy", "humans classified as machine", "human decision p50", "cost per 20 ms frame"):
        assert row in result.output
    assert "baseline" in result.output
    assert "ratio" in result.output


@pytest.mark.slow
def test_bench_sweep_prints_the_short_greeting_trade_off(clips: list[Clip], corpus_dir: Path) -> None:
    result = CliRunner().invoke(
        bench_amd,
        ["--clips", str(CLIPS), "--seed", str(TEST_SUITE_SEED), "--corpus-dir", str(corpus_dir), "--sweep"],
    )
    assert result.exit_code == 0, result.output
    assert "finished their greeting at p50" in result.output
    assert "for reporting only" in result.output  # the test-suite seed is not the tuning seed
    table = result.output.split("human p50\n", 1)[1].splitlines()
    assert len([line for line in table if line.rstrip().endswith(" s")]) >= 15
