"""Presets are frozen and validated loudly."""

import dataclasses

import pytest

from zoo.errors import ZooError
from zoo.presets import PRESETS, get_preset


def test_paper_preset_matches_seed_000():
    paper = PRESETS["paper"]
    assert (paper.batch_size, paper.steps, paper.width, paper.checkpoint_every) == (64, 500_000, 1.0, 10_000)
    assert (
        paper.learning_rate in (1e-4, 3e-4, 1e-3)
        and paper.gp_weight in (1, 3, 10)
        and paper.d_steps in (1, 2)
    )


def test_overrides_and_frozen():
    preset = get_preset("cpu", steps=7, learning_rate=None)
    assert preset.steps == 7 and preset.learning_rate == PRESETS["cpu"].learning_rate
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.steps = 3


def test_typos_are_errors():
    with pytest.raises(ZooError, match="unknown preset 'gpu'"):
        get_preset("gpu")
    with pytest.raises(ZooError, match=r"unknown preset fields \['step'\]"):
        get_preset("cpu", step=5)
