"""The baseline recipes (VAE, DCGAN, WGAN-GP) end to end in-process, their flag rules, and a
one-trial mode-coverage run."""

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import saved_model_signature

from zoo.recipe import run as run_recipe

ROOT = Path(__file__).resolve().parents[2]


def recipe(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RECIPE


def test_vae_recipe_trains_writes_grids_and_exports_encoder_and_decoder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    args = [
        "--preset",
        "tiny",
        "--steps",
        "2",
        "--out",
        str(out),
        "--serving-root",
        str(tmp_path / "serving"),
    ]
    assert run_recipe(recipe("train_vae"), args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["family"] == "vae" and metrics["reconstruction_psnr"] > 0
    assert (out / "reconstructions_real.png").is_file() and (out / "latent_norms.png").is_file()
    # The mixture prior is served too: z from N(0, I) noise and a U(0, 1) draw per code.
    assert set(metrics["export"]["models"]) == {"vae_encoder", "vae_generator", "vae_prior"}
    show = saved_model_signature(tmp_path / "serving" / "vae_prior" / "1")
    assert "inputs['noise']" in show and "inputs['uniform']" in show and "outputs['z']" in show


@pytest.mark.parametrize(
    "name, family, d_steps, gp", [("train_dcgan", "dcgan", 1, 0.0), ("train_wgan_gp", "wgan_gp", 5, 10.0)]
)
def test_gan_baseline_recipes_train_and_keep_their_schedules(
    name, family, d_steps, gp, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert (
        run_recipe(recipe(name), ["--preset", "tiny", "--steps", "1", "--out", str(out), "--no-export"]) == 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["family"] == family
    assert (config["model"]["d_steps"], config["model"]["gp_weight"]) == (d_steps, gp)
    assert config["model"]["g_steps"] == (2 if family == "dcgan" else 1)
    if family == "dcgan":
        assert config["model"]["discriminator_batches"] == "separate"
    metrics = json.loads((out / "metrics.json").read_text())
    assert "random_pair_psnr" in metrics and "reconstruction_psnr" not in metrics  # no encoder
    assert (out / "samples.png").is_file() and not (out / "reconstructions_real.png").exists()


def test_dcgan_discriminator_batches_flag_reaches_the_model():
    from zoo.recipe import build_parser

    dcgan = recipe("train_dcgan")
    args = build_parser(dcgan).parse_args(["--discriminator-batches", "mixed"])
    assert dcgan.model_kwargs(args, {})["discriminator_batches"] == "mixed"


def test_flags_a_family_cannot_use_are_one_line_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_recipe(recipe("train_vae"), ["--preset", "tiny", "--d-steps", "2", "--out", "run"]) == 1
    assert "--d-steps does not apply to vae" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_one_trial_mode_coverage_run_writes_its_table(tmp_path, capsys):
    from zoo.mode_coverage import main

    out = tmp_path / "mc"
    models = ["gan", "bigan", "ive_gan", "ep_mdgan"]  # IVE-GAN's T and EP-MDGAN's sampler too
    args = [
        "--dataset",
        "grid",
        "--models",
        ",".join(models),
        "--trials",
        "1",
        "--steps",
        "20",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    table = (out / "table.md").read_text()
    assert all(f"| {m} |" in table for m in models) and "PacGAN paper: ALI | 24.1" in table
    rows = (out / "trials.csv").read_text().splitlines()
    assert rows[0].startswith("model,trial,modes,high_quality,reverse_kl") and len(rows) == 1 + len(models)
    assert (out / "samples.png").stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    assert [s["model"] for s in summary["summary"]] == models
    assert main(["--models", "gan,vq_vae", "--out", str(tmp_path / "bad")]) == 1
    assert "unknown model(s) vq_vae" in capsys.readouterr().err


def test_alpha_gan_recipe_flags_reach_the_model():
    # Flag plumbing only (training through the shared recipe code is tested above).
    from zoo.models import AlphaGAN
    from zoo.recipe import build_parser

    alpha = recipe("train_alpha_gan")
    args = build_parser(alpha).parse_args(["--lambda", "5", "--prior-matching", "empirical_kl"])
    kwargs = alpha.model_kwargs(args, {})
    assert kwargs == {"reconstruction_weight": 5.0, "prior_matching": "empirical_kl", "g_steps": 2}
    model = AlphaGAN(resolution=1, channels=2, latent_dim=2, architecture="mlp", **kwargs)
    assert model.code_discriminator is None and alpha.fixed_preset == {"gp_weight": 0.0}


@pytest.mark.parametrize("name, family", [("train_age", "age"), ("train_ive_gan", "ive_gan")])
def test_age_and_ive_gan_recipes_train_and_export_every_network(name, family, tmp_path, monkeypatch):
    import numpy as np

    from zoo import training

    monkeypatch.chdir(tmp_path)
    out, serving = tmp_path / "run", tmp_path / "serving"
    args = ["--preset", "tiny", "--steps", "2", "--out", str(out), "--serving-root", str(serving)]
    # AGE exports like every single-input family (tested in tests/export); IVE-GAN's two-input
    # generator is the new case.
    assert run_recipe(recipe(name), args + (["--no-export"] if family == "age" else [])) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["family"] == family and metrics["reconstruction_psnr"] > 0
    _, model = training.load_run(out)
    training.restore_latest(model, out, networks_only=True)
    if family == "age":  # E(x) and P_Z on the unit sphere, two G updates per E update
        assert model.get_config()["g_steps"] == 2 and (out / "reconstructions_real.png").is_file()
        codes = model.encoder(np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype(np.float32))
        np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, rtol=1e-5)
        return
    assert set(metrics["export"]["models"]) == {f"{family}_encoder", f"{family}_generator"}
    generator = serving / f"{family}_generator" / "1"
    show = saved_model_signature(generator)
    # IVE-GAN's generator is served as G(z_noise, z). The export reloaded it in a fresh
    # process without the zoo and compared it with the decoder (tests/export covers that check).
    assert "inputs['z_noise']" in show and "shape: (-1, 4)" in show and "inputs['z']" in show
    assert metrics["export"]["models"]["ive_gan_generator"]["max_abs_diff"] <= 1e-5
    assert json.loads((out / "config.json").read_text())["model"]["transform"] == "digits"


def test_ive_gan_and_age_recipe_flags_reach_the_model():
    from zoo.recipe import build_parser

    ive = recipe("train_ive_gan")
    args = build_parser(ive).parse_args(["--noise-dim", "6", "--architecture", "ive_mnist"])
    assert ive.model_kwargs(args, {"dataset": "cifar10", "preset": "cpu"}) == {
        "noise_dim": 6,
        "transform": "photos",
        "transform_scale": 0.25,
        "shift_interpolation": "nearest",
        "architecture": "ive_mnist",
        "sample_discriminator": "shared",
        "prior": "gaussian",
    }
    args = build_parser(ive).parse_args(["--sample-discriminator", "separate"])
    assert ive.model_kwargs(args, {"dataset": "fashion_mnist"})["sample_discriminator"] == "separate"
    age = recipe("train_age")
    args = build_parser(age).parse_args(["--lambda", "500", "--code-weight", "5", "--g-steps", "3"])
    assert age.model_kwargs(args, {}) == {"data_weight": 500.0, "code_weight": 5.0, "g_steps": 3}


@pytest.mark.parametrize(
    "argv, lr, steps",
    [
        ([], 5e-4, 2000),  # the cpu preset: seed 001 Table 2's rate, the zoo table's step count
        (["--preset", "cpu", "--lr", "2e-4", "--steps", "5000"], 2e-4, 5000),  # the old default
        (["--preset", "paper"], 5e-4, 500_000),  # Table 2, not seed 000's 3e-4
        (["--preset", "paper", "--lr", "1e-4"], 1e-4, 500_000),
        (["--preset", "tiny"], 1e-3, 20),
    ],
)
def test_alpha_gan_rate_and_steps_per_preset_and_flag(argv, lr, steps):
    from zoo.recipe import build_parser, prepare

    alpha = recipe("train_alpha_gan")
    parser = build_parser(alpha)
    plan = prepare(alpha, parser.parse_args(["--no-export", *argv]), parser)
    assert (plan.settings["lr"], plan.settings["steps"]) == (lr, steps)


@pytest.mark.parametrize(
    "argv, data_weight, steps",
    [
        ([], 30.0, 2000),  # the cpu preset: the zoo table's λ_x and step count
        (["--preset", "cpu", "--lambda", "100", "--steps", "5000"], 100.0, 5000),
        (["--preset", "paper"], 100.0, 500_000),  # seed 001 H.1's smallest λ_x
        (["--preset", "paper", "--lambda", "30"], 30.0, 500_000),
        (["--preset", "tiny"], 30.0, 20),
    ],
)
def test_age_lambda_and_steps_per_preset_and_flag(argv, data_weight, steps):
    from zoo.models import family_class
    from zoo.recipe import build_parser, prepare

    age = recipe("train_age")
    parser = build_parser(age)
    plan = prepare(age, parser.parse_args(["--no-export", *argv]), parser)
    assert plan.settings["steps"] == steps
    model = family_class("age").from_config(plan.model_config)
    assert model.data_weight == data_weight and model.get_config()["data_weight"] == data_weight


@pytest.mark.parametrize(
    "preset, flags, prior",
    [
        ("cpu", [], "gaussian"),
        ("tiny", [], "gaussian"),
        ("paper", [], "uniform"),  # seed 002 §4 and App. B
        ("cpu", ["--prior", "uniform"], "uniform"),
        ("paper", ["--prior", "gaussian"], "gaussian"),
    ],
)
def test_ive_gan_prior_per_preset_and_flag(preset, flags, prior):
    from zoo.recipe import build_parser

    ive = recipe("train_ive_gan")
    args = build_parser(ive).parse_args(flags)
    assert ive.model_kwargs(args, {"dataset": "fashion_mnist", "preset": preset})["prior"] == prior


@pytest.mark.parametrize(
    "preset, flags, expected",
    [
        ("cpu", [], (0.25, "nearest", "separate")),  # the zoo table's choice (README, "IVE-GAN's T")
        ("tiny", [], (0.25, "nearest", "separate")),
        ("paper", [], (1.0, "bilinear", "shared")),  # seed 002's ranges, App. B's D'
        ("cpu", ["--architecture", "ive_mnist"], (0.25, "nearest", "shared")),  # Table 2's nets share D_enc
        (
            "cpu",
            [
                "--transform-scale",
                "0.5",
                "--shift-interpolation",
                "bilinear",
                "--sample-discriminator",
                "shared",
            ],
            (0.5, "bilinear", "shared"),
        ),
        (
            "paper",
            ["--transform-scale", "0.25", "--sample-discriminator", "separate"],
            (0.25, "bilinear", "separate"),
        ),
    ],
)
def test_ive_gan_transform_and_sample_discriminator_per_preset_and_flag(preset, flags, expected):
    from zoo.recipe import build_parser

    ive = recipe("train_ive_gan")
    args = build_parser(ive).parse_args(flags)
    kwargs = ive.model_kwargs(args, {"dataset": "fashion_mnist", "preset": preset})
    assert (
        kwargs["transform_scale"],
        kwargs["shift_interpolation"],
        kwargs["sample_discriminator"],
    ) == expected


def test_ive_gan_transform_scale_above_one_is_a_one_line_error_that_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    code = run_recipe(
        recipe("train_ive_gan"), ["--preset", "tiny", "--transform-scale", "1.5", "--out", str(out)]
    )
    assert code == 1 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert err == "error: the transform scale must be in (0, 1], got 1.5"


def test_wgan_gp_cpu_preset_steps_apply_to_the_cpu_preset_only_and_flags_override_them():
    from zoo.recipe import build_parser, prepare

    wgan = recipe("train_wgan_gp")
    parser = build_parser(wgan)

    def steps(argv):
        return prepare(wgan, parser.parse_args(["--no-export", *argv]), parser).settings["steps"]

    assert wgan.cpu_preset == {"steps": 1800}
    assert steps([]) == steps(["--preset", "cpu"]) == 1800
    assert steps(["--steps", "5000"]) == 5000
    assert steps(["--preset", "tiny"]) == 20 and steps(["--preset", "paper"]) == 500_000


@pytest.mark.parametrize(
    "argv, prior, start, steps",
    [
        ([], "mixture", 5000, 7000),  # the cpu preset: 5 000 ELBO steps, 2 000 fitting the mixture
        (["--prior-steps", "500", "--steps", "3000"], "mixture", 2500, 3000),
        (["--preset", "tiny"], "mixture", 10, 20),  # a short run fits the mixture in its second half
        (["--preset", "paper"], "gaussian", None, 500_000),  # seed 000 A.2's N(0, I)
        (["--prior", "gaussian", "--steps", "5000"], "gaussian", None, 5000),
    ],
)
def test_vae_prior_per_preset_and_flag(argv, prior, start, steps):
    from zoo.recipe import build_parser, prepare

    vae = recipe("train_vae")
    parser = build_parser(vae)
    plan = prepare(vae, parser.parse_args(["--no-export", *argv]), parser)
    assert plan.settings["steps"] == steps
    assert plan.model_config["prior"] == prior and plan.model_config.get("prior_start_step") == start


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--prior-steps", "7000"], "--prior-steps 7000 must be smaller than --steps 7000"),
        (["--prior", "gaussian", "--prior-components", "5"], "apply only to --prior mixture"),
    ],
)
def test_vae_prior_flags_that_contradict_each_other_exit_1(argv, message, tmp_path, capsys):
    assert run_recipe(recipe("train_vae"), [*argv, "--out", str(tmp_path / "run"), "--no-export"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
