"""--resume through the recipes, traced as users run them: a run interrupted at step 2
and resumed to step 4 ends with the checkpoint of the uninterrupted run, every variable
(networks, optimiser slots, step, seed state, EP-MDGAN's score table) included; and the
posthoc schedule's default encoder phase."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.recipe import build_parser, prepare
from zoo.recipe import run as run_recipe
from zoo.tuning import load_recipe as recipe


def checkpoint_values(path) -> dict:
    reader = tf.train.load_checkpoint(str(path))
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    }


@pytest.mark.parametrize(
    "name,extra",
    [
        ("bigan", ["--variant", "bigan", "--gp-weight", "1"]),  # the penalty's draws resume too
        ("alpha_gan", []),
        ("bigan", ["--variant", "ep_mdgan"]),
    ],
    ids=["bigan", "alpha_gan", "ep_mdgan"],
)
@pytest.mark.slow
def test_an_interrupted_and_resumed_run_ends_exactly_where_an_uninterrupted_one_does(
    name, extra, tmp_path, monkeypatch, small_fashion_mnist
):
    common = [
        "--preset",
        "tiny",
        "--steps",
        "4",
        "--checkpoint-every",
        "2",
        "--log-every",
        "2",
        "--no-export",
    ]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run_recipe(recipe(name), [*common, *extra, "--out", str(straight)]) == 0
    # The same run, killed right after its first checkpoint (step 2), then resumed.
    save = tf.train.CheckpointManager.save

    def save_then_die(self, *args, **kwargs):
        path = save(self, *args, **kwargs)
        raise KeyboardInterrupt(f"killed after {path}")

    with monkeypatch.context() as m:
        m.setattr(tf.train.CheckpointManager, "save", save_then_die)
        with pytest.raises(KeyboardInterrupt, match="ckpt-2"):
            run_recipe(recipe(name), [*common, *extra, "--out", str(split)])
    assert run_recipe(recipe(name), ["--out", str(split), "--resume", "--no-export"]) == 0
    a, b = (checkpoint_values(d / "checkpoints" / "ckpt-4") for d in (straight, split))
    assert sorted(a) == sorted(b) and len(a) > 20
    if "ep_mdgan" in extra:
        assert any("sampler" in key or "scores" in key for key in a), sorted(a)
    diffs = {k: float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) for k in a}
    bad = {k: v for k, v in diffs.items() if v > 1e-6}
    assert not bad, bad


def test_posthoc_default_encoder_phase_is_the_second_half():
    ige = recipe("ige_gan")
    parser = build_parser(ige)

    def start(argv):
        return prepare(
            ige, parser.parse_args(["--preset", "tiny", "--no-export", *argv]), parser
        ).model_config["encoder_start_step"]

    assert start(["--steps", "10", "--encoder-schedule", "posthoc"]) == 5
    assert start(["--steps", "11", "--encoder-schedule", "posthoc"]) == 6  # the last 11 // 2 steps
    assert start(["--steps", "10", "--encoder-schedule", "posthoc", "--encoder-steps", "3"]) == 7
    assert start(["--steps", "10"]) == 0  # joint: E trains from the first step
