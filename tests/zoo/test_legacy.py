"""zoo.legacy: runs stored before a model key existed rebuild what they trained."""

import json

from zoo import legacy
from zoo.models import family_class
from zoo.training import load_run


def test_missing_keys_take_the_value_old_runs_trained_with_where_the_family_takes_them():
    bigan = legacy.with_legacy_defaults(family_class("bigan"), {"latent_dim": 8})
    assert bigan["spectral_norm"] == "projection" and bigan["joint_fusion"] == "every_layer"
    assert bigan["adam_betas"] == [0.5, 0.999] and bigan["lr_ratios"] == {}
    gan = legacy.with_legacy_defaults(family_class("gan"), {"latent_dim": 8})
    assert gan["spectral_norm"] == "projection" and "joint_fusion" not in gan  # no joint D
    stored = {"latent_dim": 8, "spectral_norm": "miyato", "joint_fusion": "late"}
    assert legacy.with_legacy_defaults(family_class("bigan"), stored) == {
        **stored,
        "fresh_critic_batches": False,
        "adam_betas": [0.5, 0.999],
        "lr_ratios": {},
        "joint_dropout": 0.0,
        "cycle_critic_weight": 0.0,
        "cycle_critic_norm": "none",
        "joint_scores": "summed",
        "encoder_norm": "layer",
        "encoder_feature_norm": "none",
    }
    assert "cycle_critic_weight" not in gan  # no inversion loss
    ive = legacy.with_legacy_defaults(family_class("ive_gan"), {"latent_dim": 8})
    assert (ive["transform_scale"], ive["shift_interpolation"]) == (1.0, "bilinear")  # the paper's T
    assert "transform_scale" not in bigan


def test_load_run_rebuilds_an_old_bigan_with_its_old_networks(tmp_path):
    config = {"family": "bigan", "model": {"latent_dim": 8, "width": 1 / 16}, "settings": {}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    _, model = load_run(tmp_path)
    assert (model.spectral_norm, model.joint_fusion) == ("projection", "every_layer")
    config["model"].update(spectral_norm="miyato", joint_fusion="late")
    (tmp_path / "config.json").write_text(json.dumps(config))
    _, model = load_run(tmp_path)
    assert (model.spectral_norm, model.joint_fusion) == ("miyato", "late")
