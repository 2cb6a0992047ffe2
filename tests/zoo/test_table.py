"""zoo.table's verdicts from given numbers: the claims and the section-2 bar of issue #17."""

import pytest

from zoo import table

GOOD = {
    "fid_samples": 10.0,
    "fid_reconstructions": 20.0,
    "feature_l2": 5.0,
    "psnr_mean": 14.0,
    "psnr_random_pair": 8.0,
    "class_agreement": 0.7,
    "knn_accuracy": 0.8,
    "latent_norm_ratio": 1.0,
    "class_share_min": 0.05,
    "class_share_max": 0.2,
    "recall": 0.5,
    "latent_recovery": 0.5,
    "train_wall_s": 600.0,
}


def means_where(**changes):
    """Every claim entry with GOOD numbers, then ``entry__key=value`` changes."""
    means = {e: dict(GOOD) for c in table.CLAIMS for e in c.entries}
    for name, value in changes.items():
        entry, key = name.split("__")
        means[entry][key] = value
    return means


def verdicts(means):
    return [c["verdict"] for c in table.decide_claims(means)]


def test_each_claim_holds_or_fails_on_its_own_numbers():
    # All equal: "better" (claim 1) is strict and fails; "at least as good" (2) and "the
    # best" (3: a tie for best counts) hold.
    assert verdicts(means_where()) == [False, True, True, True, True, True]
    v = verdicts(means_where(bigan_x_ae__psnr_mean=15.0, bigan_x_ae__fid_reconstructions=19.0))
    assert v[0] is True
    # Better PSNR but worse FID(recon): both are asked.
    assert verdicts(means_where(bigan_x_ae__psnr_mean=15.0, bigan_x_ae__fid_reconstructions=21.0))[0] is False
    assert verdicts(means_where(ige_gan_z_ae__feature_l2=5.1))[1] is False
    extremes = dict(
        ige_gan_x_ae__fid_samples=9.0, ige_gan_x_ae__feature_l2=4.0, ige_gan_x_ae__fid_reconstructions=30.0
    )
    assert verdicts(means_where(**extremes))[2] is True
    assert verdicts(means_where(**{**extremes, "ige_gan_z_adv__feature_l2": 3.9}))[2] is False
    assert verdicts(means_where(p_mdgan__latent_norm_ratio=1.09))[3] is True
    assert verdicts(means_where(p_mdgan__latent_norm_ratio=0.89))[3] is False
    assert verdicts(means_where(ep_mdgan__recall=0.49))[4] is False
    assert verdicts(means_where(bigan__knn_accuracy=0.76))[5] is True
    assert verdicts(means_where(bigan__knn_accuracy=0.74))[5] is False
    # The untrained encoders' scores are shown beside claim 6, never decide it.
    shown = means_where(bigan__knn_accuracy_untrained=0.9, ige_gan_z_ae__knn_accuracy_untrained=0.5)
    row = table.decide_claims(shown)[5]
    assert row["verdict"] is True and row["numbers"].endswith("(their untrained encoders: 0.900 vs 0.500)")


def test_a_claim_without_its_numbers_is_not_decided():
    means = means_where()
    del means["mdgan"]
    means["bigan"]["knn_accuracy"] = None
    rows = table.decide_claims(means)
    assert rows[4]["verdict"] is None and "mdgan" in rows[4]["numbers"]
    assert rows[5]["verdict"] is None and "knn_accuracy of bigan" in rows[5]["numbers"]


def test_the_bar_names_every_miss_with_its_number():
    assert table.requirements("ige_gan_x_ae", GOOD, [{**GOOD, "seed": 0}], gan_fid=10.0) == []
    bad = {**GOOD, "fid_samples": 21.0, "psnr_mean": 11.0, "class_share_max": 0.3, "knn_accuracy": 0.7}
    misses = table.requirements(
        "ige_gan_x_ae", bad, [{**bad, "seed": 0, "train_wall_s": 901.0}], gan_fid=10.0
    )
    assert misses == [
        "wall time 901 s > 900 s",
        "FID(P_G) 21.00 > 2× the GAN's 10.00",
        "class shares 5.0%–30.0% outside 3 %–25 %",
        "PSNR 11.00 dB < random pair 8.00 + 4 dB",
        "1-NN 0.700 < 0.75",
    ]
    # The VAE gets 4x the GAN's FID, BiGAN +2 dB and 50 % agreement.
    assert (
        table.requirements(
            "vae", bad | {"class_share_max": 0.2, "psnr_mean": 13.0, "knn_accuracy": 0.8}, [], 10.0
        )
        == []
    )
    vae_like = bad | {"class_share_max": 0.2, "psnr_mean": 13.0, "knn_accuracy": 0.8}
    assert table.requirements("vae_sigma_1", vae_like, [], 10.0) == []  # every VAE row
    relaxed = {**GOOD, "psnr_mean": 10.5, "class_agreement": 0.55}
    assert table.requirements("bigan", relaxed, [], 10.0) == []
    assert table.requirements("bigan_every_layer", relaxed, [], 10.0) == []  # plain BiGAN, other D
    assert table.requirements("bigan_ali", relaxed, [], 10.0) == []  # plain BiGAN, other E and D
    assert table.requirements("bigan_z_adv_alice", relaxed, [], 10.0) == [
        "class agreement 55.0% < 60%"
    ]  # BiGAN + an adversarial loss: + 2 dB only
    assert len(table.requirements("bigan_x_ae", relaxed, [], 10.0)) == 2


def test_z_adv_needs_latent_recovery_on_every_seed_and_a_gan_has_no_encoder_bar():
    runs = [{"seed": 0, "latent_recovery": 0.4}, {"seed": 1, "latent_recovery": 1.3}]
    assert table.requirements("ige_gan_z_adv", GOOD, runs, 10.0) == ["latent recovery 1.30 > 1.0 (seed 1)"]
    assert table.requirements("ige_gan_z_ae", GOOD, runs, 10.0) == []
    # Every z_adv row is held to it, lever rows included; no other row is.
    for entry, spec in table.ENTRIES.items():
        z_adv = "z_adv" in spec.flags or "bigan_z_adv" in spec.flags
        held = any("latent recovery" in m for m in table.requirements(entry, GOOD, runs, 10.0))
        assert held == z_adv, entry
    assert {"ige_gan_z_adv_alice", "bigan_z_adv_alice", "ige_gan_z_adv_bilinear"} <= set(table.Z_ADV)
    samples_only = {**GOOD, "psnr_mean": None, "class_agreement": None, "knn_accuracy": None}
    assert table.requirements("dcgan", samples_only, [], 10.0) == []


def test_report_averages_seeds_and_marks_divergence():
    def ev(entry, seed, **metrics):
        base = {"fid_samples": 10.0, "class_histogram": [0.1] * 10, "psnr_mean": None}
        return {"entry": entry, "seed": seed, "metrics": {**base, **metrics}, "train_wall_s": 100.0}

    evaluations = [
        ev("gan", 0, fid_samples=10.0),
        ev("gan", 1, fid_samples=14.0),
        {"entry": "dcgan", "seed": 0, "diverged": "g_loss became nan at step 3"},
    ]
    markdown, csv_text, summary = table.report(evaluations)
    gan = table.aggregate(evaluations)["gan"]
    assert gan["mean"]["fid_samples"] == pytest.approx(12.0) and gan["std"]["fid_samples"] == pytest.approx(
        2.0
    )
    assert "| gan | 0,1 | 12 ± 2 |" in markdown
    assert "diverged: seed 0: g_loss became nan at step 3" in markdown
    assert summary["misses"]["dcgan"] == ["diverged"] and summary["misses"]["gan"] == []
    assert csv_text.splitlines()[1].startswith("gan,0,10,")
    assert summary["claims_held"] == 0 and all(c["verdict"] is None for c in summary["claims"])


def test_a_stale_row_is_marked_with_what_changed_and_listed():
    evaluations = [
        {"entry": "gan", "seed": 0, "metrics": {"fid_samples": 10.0, "class_histogram": [0.1] * 10}},
        {"entry": "wgan_gp", "seed": 0, "metrics": {"fid_samples": 9.0, "class_histogram": [0.1] * 10}},
    ]
    markdown, _, summary = table.report(evaluations, {"gan-seed0": ["spectral_norm projection -> miyato"]})
    gan_row = next(line for line in markdown.splitlines() if line.startswith("| gan |"))
    assert (
        "**stale**, trained before the defaults changed (gan-seed0: spectral_norm projection -> miyato)"
        in gan_row
    )
    assert "stale" not in next(line for line in markdown.splitlines() if line.startswith("| wgan_gp |"))
    assert "Stale rows (retrained by the next table run): gan-seed0." in markdown
    assert summary["stale"] == {"gan-seed0": ["spectral_norm projection -> miyato"]}
    assert "stale" not in table.report(evaluations)[0].lower()


def test_config_changes_name_each_differing_key_and_ignore_the_familys_unused_ones():
    stored = {
        "model": {"latent_dim": 16, "spectral_norm": "projection", "name": "a"},
        "settings": {"steps": 20},
    }
    planned = {"model": {"latent_dim": 16, "spectral_norm": "miyato", "name": "b"}, "settings": {"steps": 30}}
    assert table.config_changes(stored, planned) == ["spectral_norm projection -> miyato", "steps 20 -> 30"]
    assert table.config_changes(stored, planned, ignore=("spectral_norm",)) == ["steps 20 -> 30"]
    same_steps = {**planned, "settings": {"steps": 20}}
    assert not table.same_config(stored, same_steps) and table.same_config(
        stored, same_steps, ("spectral_norm",)
    )
    # a family that declares spectral_norm unused (a plain critic) is not made stale by it
    assert "spectral_norm" in table.unused_keys("wgan_gp") and "spectral_norm" not in table.unused_keys("gan")


def test_stored_and_planned_configs_compare_through_json():
    planned = {"model": {"latent_dim": 16, "shape": (1, 2)}, "settings": {"steps": 20}}
    assert table.same_config(
        {"model": {"latent_dim": 16, "shape": [1, 2]}, "settings": {"steps": 20}}, planned
    )
    assert not table.same_config(
        {"model": {"latent_dim": 8, "shape": [1, 2]}, "settings": {"steps": 20}}, planned
    )


def test_a_run_stored_before_a_key_existed_matches_when_the_plan_keeps_the_old_value():
    old = {"model": {"latent_dim": 16}, "settings": {}}
    planned = {
        "model": {"latent_dim": 16, "adam_betas": [0.5, 0.999], "spectral_norm": "projection"},
        "settings": {},
    }
    assert table.same_config(old, planned)
    assert not table.same_config(old, {**planned, "model": {**planned["model"], "adam_betas": [0.5, 0.9]}})


def test_a_legacy_key_only_applies_where_one_config_has_it():
    # a GAN run (no joint discriminator) never gains a joint_fusion key
    gan = {"model": {"latent_dim": 16, "adam_betas": [0.5, 0.999]}, "settings": {}}
    assert table.same_config(gan, gan)
    old_bigan = {"model": {"latent_dim": 16}, "settings": {}}
    assert table.same_config(
        old_bigan, {"model": {"latent_dim": 16, "joint_fusion": "every_layer"}, "settings": {}}
    )
    assert not table.same_config(
        old_bigan, {"model": {"latent_dim": 16, "joint_fusion": "late"}, "settings": {}}
    )


def test_git_commit_is_dirty_for_code_changes_but_not_for_the_tables_own_results(tmp_path, monkeypatch):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "recipes" / "results").mkdir(parents=True)
    (tmp_path / "code.py").write_text("a = 1\n")
    (tmp_path / "recipes" / "results" / "table.md").write_text("old\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(table, "ROOT", tmp_path)
    head = table.git_commit()
    assert head and "+" not in head
    (tmp_path / "recipes" / "results" / "table.md").write_text("rewritten by the table\n")
    assert table.git_commit() == head
    (tmp_path / "code.py").write_text("a = 2\n")
    assert table.git_commit() == head + "+dirty"


def test_stale_runs_flag_a_changed_default_only_where_the_family_uses_the_key():
    from pathlib import Path

    def evaluation(entry, **model_changes):
        argv = table.recipe_argv(entry, 0, Path("unused"), "cpu", "fashion_mnist")
        config = table.planned_config(entry, argv)
        config["model"].update(model_changes)
        return {"entry": entry, "seed": 0, "config": config}

    evaluations = [
        evaluation("gan"),
        evaluation("gan_sn_projection"),
        evaluation("wgan_gp", spectral_norm="projection"),  # a plain critic: the key is unused
        evaluation("ige_gan_x_ae", spectral_norm="projection"),
    ]
    assert table.stale_runs(evaluations) == {"ige_gan_x_ae-seed0": ["spectral_norm projection -> miyato"]}


def test_planned_configs_name_the_family_each_entry_builds():
    from pathlib import Path

    from zoo.models import family_class

    expected = {
        "gan": "gan",
        "ige_gan_z_ae": "ige_gan",
        "bigan_x_adv": "bigan",
        "mdgan": "mdgan",
        "vae": "vae",
    }
    for entry, family in expected.items():
        planned = table.planned_config(
            entry, table.recipe_argv(entry, 0, Path("unused"), "cpu", "fashion_mnist")
        )
        assert planned["family"] == family
        family_class(family).from_config(planned["model"])  # the backfill rebuilds it this way
