"""The BiGAN recipe end to end: a variant trains, resumes under its own family, and exports
under its variant's name; bad variant flags are argparse errors."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "train_bigan.py"


@pytest.mark.slow
def test_ep_mdgan_tiny_end_to_end_resume_and_export(tmp_path, monkeypatch, capsys, small_fashion_mnist):
    from conftest import SMALL_TRAIN

    from zoo.recipe import run as run_recipe

    monkeypatch.chdir(tmp_path)
    out, root = tmp_path / "run", tmp_path / "serving"
    common = ["--out", str(out), "--serving-root", str(root), "--log-every", "2"]
    first = ["--preset", "tiny", "--variant", "ep_mdgan", "--lambda-dist", "6", "--steps", "2", "--no-export"]
    code = run_recipe(_module().RECIPE, [*first, *common])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr[-2000:]
    config = json.loads((out / "config.json").read_text())
    assert (config["family"], config["name"]) == ("ep_mdgan", "ep_mdgan")
    model = config["model"]
    # Seed 004 Table 1's F-MNIST column where no flag is given; P-MDGAN's schedule.
    assert (model["cycle_weight"], model["lambda_perc"], model["lambda_dist"]) == (3.0, 0.8, 6.0)
    assert model["num_examples"] == SMALL_TRAIN and model["norm_hold_steps"] == 0
    assert f"scored {SMALL_TRAIN} training images" in stdout
    assert "batch_psnr" in stdout and "norm_weight" in stdout and "cycle_loss" in stdout
    # Resume without repeating --variant: the run's own family, settings and score table.
    assert run_recipe(_module().RECIPE, ["--resume", "--steps", "4", *common]) == 0
    assert "scored" not in capsys.readouterr().out  # the scores come back from the checkpoint
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 4 and metrics["family"] == "ep_mdgan"
    served = {p.name for p in root.iterdir() if p.name != ".zoo.lock"}  # the export's lock file
    assert served == {"ep_mdgan_encoder", "ep_mdgan_generator", "models.config"}
    assert sorted(p.name for p in (root / "ep_mdgan_encoder").iterdir()) == ["1"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--variant", "ep_gan"], "invalid choice"),
        (["--variant", "ep_mdgan", "--lambda-perc", "1.5"], "--lambda-perc"),
        (["--lambda", "-1"], "--lambda"),
        (["--lambda-cyc", "nan"], "--lambda-cyc"),
    ],
)
def test_bad_variant_flags_exit_2(args, needle, tmp_path, monkeypatch, capsys):
    from zoo.recipe import run as run_recipe

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:  # argparse, in-process
        run_recipe(_module().RECIPE, ["--preset", "tiny", *args])
    assert exit_.value.code == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--variant", "mdgan", "--lambda-perc", "0.5"], "--lambda-perc does not apply to --variant mdgan"),
        (["--variant", "bigan_x_ae", "--lambda-cyc", "3"], "--lambda-cyc does not apply"),
        (["--variant", "bigan_x_ae", "--cycle-critic-weight", "1"], "--cycle-critic-weight does not apply"),
        (["--variant", "bigan", "--cycle-critic-norm", "spectral"], "--cycle-critic-norm does not apply"),
        (["--variant", "bigan_z_adv", "--cycle-critic-norm", "spectral"], "needs --cycle-critic-weight > 0"),
        (["--variant", "p_mdgan_mleq"], "needs --scores"),
        (["--variant", "p_mdgan_mleq", "--scores", "short.npy"], "expected (60000,)"),
        (["--variant", "p_mdgan_mleq", "--scores", "nan.npy"], "nan.npy must hold finite numbers"),
        (["--variant", "p_mdgan_mleq", "--scores", "text.npy"], "--scores: cannot read text.npy"),
    ],
)
def test_flags_a_variant_cannot_use_exit_1_before_writing(args, needle, tmp_path, capsys, monkeypatch):
    import numpy as np

    from zoo.recipe import run as run_recipe

    np.save(tmp_path / "short.npy", np.zeros(10))
    np.save(tmp_path / "nan.npy", np.where(np.arange(60_000) == 7, np.nan, 0.0))
    (tmp_path / "text.npy").write_text("not a numpy file")
    monkeypatch.chdir(tmp_path)
    code = run_recipe(_module().RECIPE, ["--preset", "tiny", "--out", "r", *args])  # in-process: fast
    assert code == 1 and needle in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_bigan", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _settings(argv):
    from zoo.recipe import _resolve, build_parser

    module = _module()
    parser = build_parser(module.RECIPE)
    args = parser.parse_args(argv)
    return module, args, _resolve(args, parser, module.RECIPE)["settings"]


def test_paper_preset_is_seed_004_for_its_variants_and_seed_000_for_bigan():
    from zoo.presets import PRESETS

    epoch = 60_000 // 128
    _, _, s = _settings(["--preset", "paper", "--variant", "ep_mdgan", "--d-steps", "3"])
    assert (s["batch_size"], s["latent_dim"], s["lr"], s["gp_weight"]) == (128, 256, 2e-4, 0.0)
    assert s["steps"] == 800 * epoch and s["lr_decay"] == [400 * epoch, epoch, 0.99]
    assert s["d_steps"] == 3  # a flag still overrides the paper's 5
    assert _settings(["--preset", "paper", "--variant", "mdgan"])[2]["d_steps"] == 5
    _, _, s = _settings(["--preset", "paper", "--variant", "bigan_x_ae"])
    paper = PRESETS["paper"]
    assert (s["batch_size"], s["steps"], s["lr"], s["d_steps"]) == (64, paper.steps, paper.learning_rate, 1)
    assert s["lr_decay"] == [0, 1, 1.0]


@pytest.mark.parametrize(
    "argv,fusion",
    [
        (["--variant", "bigan"], None),  # the model's default, late
        (["--variant", "bigan_x_ae", "--preset", "paper"], "every_layer"),  # seed 000 A.3.2
        (["--variant", "mdgan", "--preset", "paper"], None),  # seed 004 Table 3 fuses late
        (["--variant", "bigan", "--preset", "paper", "--joint-fusion", "late"], "late"),
        (["--variant", "p_mdgan", "--joint-fusion", "late_bilinear"], "late_bilinear"),
    ],
)
def test_joint_fusion_follows_the_paper_preset_and_the_flag(argv, fusion):
    module, args, s = _settings(argv)
    assert module.model_kwargs(args, s).get("joint_fusion") == fusion


def test_joint_dropout_flag_reaches_every_variant_and_is_absent_by_default():
    for variant in ("bigan", "bigan_z_adv", "ep_mdgan"):
        module, args, s = _settings(["--variant", variant, "--joint-dropout", "0.2"])
        assert module.model_kwargs(args, s)["joint_dropout"] == 0.2
        module, args, s = _settings(["--variant", variant])
        assert "joint_dropout" not in module.model_kwargs(args, s)


def test_joint_scores_flag_reaches_the_model_and_is_absent_by_default():
    from zoo.errors import ZooError

    for variant in ("bigan", "bigan_x_ae", "mdgan"):
        module, args, s = _settings(["--variant", variant, "--joint-scores", "separate"])
        assert module.model_kwargs(args, s)["joint_scores"] == "separate"
        module, args, s = _settings(["--variant", variant])
        assert "joint_scores" not in module.model_kwargs(args, s)
    for argv, match in (
        (["--variant", "bigan", "--preset", "paper"], "needs --joint-fusion late, not every_layer"),
        (["--variant", "bigan", "--joint-fusion", "late_bilinear"], "needs --joint-fusion late"),
        (["--variant", "bigan_z_adv"], "does not apply to --variant bigan_z_adv"),
    ):
        module, args, s = _settings([*argv, "--joint-scores", "separate"])
        with pytest.raises(ZooError, match=match):
            module.model_kwargs(args, s)


@pytest.mark.parametrize(
    "flag, key, layers",
    [("--encoder-norm", "encoder_norm", 7), ("--encoder-feature-norm", "encoder_feature_norm", 1)],
)
def test_encoder_norm_flags_reach_every_variant_and_the_model_and_are_absent_by_default(flag, key, layers):
    from zoo.models import BiGAN

    for variant in ("bigan", "bigan_x_ae", "bigan_z_adv", "mdgan", "ep_mdgan"):
        module, args, s = _settings(["--variant", variant, flag, "batch"])
        assert module.model_kwargs(args, s)[key] == "batch"
        module, args, s = _settings(["--variant", variant])
        assert key not in module.model_kwargs(args, s)
    plain = BiGAN(latent_dim=8, width=1 / 16).get_config()
    config = BiGAN(latent_dim=8, width=1 / 16, **{key: "batch"}).get_config()
    assert (
        plain[key] != "batch" and config[key] == "batch" and BiGAN.from_config(config).get_config() == config
    )
    norms = [
        layer
        for layer in BiGAN.from_config(config).encoder.layers
        if type(layer).__name__ == "BatchNormalization"
    ]
    assert len(norms) == layers  # one per hidden layer, or the one before E's output layer
    kinds = {type(layer).__name__ for layer in BiGAN.from_config(config).encoder.layers}
    assert ("LayerNormalization" in kinds) == (key == "encoder_feature_norm")


def test_bad_encoder_feature_norm_is_one_line():
    from zoo.errors import ZooError
    from zoo.models import BiGAN

    with pytest.raises(ZooError, match="unknown encoder_feature_norm 'layer'; expected one of none, batch"):
        BiGAN(latent_dim=8, width=1 / 16, encoder_feature_norm="layer")


def test_cycle_critic_weight_reaches_bigan_z_adv_and_is_absent_by_default():
    module, args, s = _settings(["--variant", "bigan_z_adv", "--cycle-critic-weight", "0.5"])
    assert module.model_kwargs(args, s)["cycle_critic_weight"] == 0.5
    module, args, s = _settings(["--variant", "bigan_z_adv"])
    assert "cycle_critic_weight" not in module.model_kwargs(args, s)
    assert "cycle_critic_norm" not in module.model_kwargs(args, s)
    flags = ["--variant", "bigan_z_adv", "--cycle-critic-weight", "1", "--cycle-critic-norm", "spectral"]
    module, args, s = _settings(flags)
    assert module.model_kwargs(args, s)["cycle_critic_norm"] == "spectral"


@pytest.mark.parametrize("dataset,expected", [("fashion_mnist", (9.0, 9.0)), ("cifar10", (8.0, 7.0))])
def test_cycle_weight_defaults_follow_table_1(dataset, expected):
    got = []
    for variant in ("mdgan", "p_mdgan"):
        module, args, s = _settings(["--preset", "tiny", "--variant", variant, "--dataset", dataset])
        got.append(module.model_kwargs(args, s)["cycle_weight"])
    assert tuple(got) == expected
    module, args, s = _settings(["--preset", "tiny", "--variant", "mdgan", "--lambda-cyc", "2.5"])
    assert module.model_kwargs(args, s)["cycle_weight"] == 2.5
