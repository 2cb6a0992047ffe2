"""Keras Tuner searches (issue #6): grid flags become hyper-parameters, the resumable
oracle survives an interrupted search (keras-tuner#1055), and a real tiny search records
diverged trials, resumes without repeating a finished trial and reports the true best."""

import json
import math

import keras_tuner as kt
import pytest

from zoo import tuning
from zoo.errors import ZooError


# --------------------------------------------------------------- the oracle alone
class CountingHyperModel(kt.HyperModel):
    """Instant trials: the objective is a known function of (a, b); one call can be
    made to die like a killed process (KeyboardInterrupt is not caught by Keras Tuner)."""

    objective, direction = "fid_reconstructions", "min"

    def __init__(self, interrupt_at=None):
        super().__init__()
        self.calls, self.interrupt_at = [], interrupt_at

    def build(self, hp):
        hp.Choice("a", ["1", "2", "3"])
        hp.Choice("b", ["x", "y"])

    def fit(self, hp, model, *args, run_dir=None, **kwargs):
        self.calls.append((hp["a"], hp["b"]))
        if len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        return {self.objective: float(hp["a"]) + (0.5 if hp["b"] == "y" else 0.0), "diverged": 0.0}


def search(tmp_path, hypermodel, oracle_class=None):
    tuner = tuning.ZooGridSearch(hypermodel, max_trials=6, directory=str(tmp_path), project_name="s")
    if oracle_class is not None:  # swap in another oracle before anything is reloaded
        tuner = kt.Tuner(
            oracle=oracle_class(objective=kt.Objective(hypermodel.objective, "min"), max_trials=6),
            hypermodel=hypermodel,
            directory=str(tmp_path),
            project_name="s",
        )
        tuner.run_trial = lambda trial, *a, **k: hypermodel.fit(trial.hyperparameters, None)
    tuner.search(verbose=0)
    return tuner


@pytest.mark.parametrize("oracle", ["resumable", "keras_tuner"])
def test_interrupted_grid_search_resumes_without_repeating_trials(oracle, tmp_path):
    oracle_class = None if oracle == "resumable" else kt.oracles.GridSearchOracle
    first = CountingHyperModel(interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        search(tmp_path, first, oracle_class)
    assert len(first.calls) == 3  # two finished, the third killed mid-trial
    second = CountingHyperModel()
    if oracle_class is not None:  # keras-tuner#1055, the bug the resumable oracle works around
        with pytest.raises(KeyError):
            search(tmp_path, second, oracle_class)
        return
    tuner = search(tmp_path, second)
    assert second.calls[0] == first.calls[2]  # the interrupted trial restarts first
    assert not set(first.calls[:2]) & set(second.calls)  # finished ones are not re-run
    done = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert sorted((t.hyperparameters["a"], t.hyperparameters["b"]) for t in done) == sorted(
        (a, b) for a in "123" for b in "xy"
    )
    best = tuner.oracle.get_best_trials(1)[0]
    assert (best.hyperparameters["a"], best.hyperparameters["b"]) == ("1", "x")


# --------------------------------------------------------------- grid flags
def test_grid_flags_become_axes_and_reach_the_model():
    recipe = tuning.load_recipe("bigan")
    tokens = ["--variant", "bigan_x_ae", "--lr", "1e-4,3e-4", "--gp-weight", "1,10", "--d-steps", "1,2"]
    fixed, overrides = tuning.split_grid_flags(recipe, tokens + ["--lambda=0.1,1,10"])
    assert fixed == ["--variant", "bigan_x_ae"]
    assert overrides == {
        "lr": ["1e-4", "3e-4"],
        "gp-weight": ["1", "10"],
        "d-steps": ["1", "2"],
        "lambda": ["0.1", "1", "10"],
    }
    assert tuning.search_axes(recipe, fixed, overrides) == overrides
    # Without overrides: seed 000 A.3.3's grid and the BiGAN + inversion λ grid.
    assert tuning.search_axes(recipe, fixed, {}) == {
        "lr": ["1e-4", "3e-4", "1e-3"],
        "gp-weight": ["1", "3", "10"],
        "d-steps": ["1", "2"],
        "lambda": ["0.1", "0.3", "1", "3", "10"],
    }
    # A family that fixes or ignores a flag loses that axis; its own λ grid is added.
    assert tuning.search_axes(tuning.load_recipe("age"), [], {}) == {
        "lr": ["1e-4", "3e-4", "1e-3"],
        "d-steps": ["1", "2"],
        "lambda": ["100", "500", "1000", "2000"],
    }
    hypermodel = tuning.ZooHyperModel(recipe, fixed + ["--preset", "tiny"], overrides, None, "fid_samples")
    hp = kt.HyperParameters()
    hypermodel.argv(hp)  # declares the axes
    hp.values.update({"lr": "3e-4", "gp-weight": "10", "d-steps": "2", "lambda": "0.1"})
    model = hypermodel.build(hp)
    config = model.get_config()
    assert (config["gp_weight"], config["d_steps"], config["inversion_weight"]) == (10.0, 2, 0.1)
    assert math.isclose(float(model.optimizers["d"].learning_rate), 3e-4, rel_tol=1e-6)


def test_bad_grid_input_is_one_line(capsys):
    recipe = tuning.load_recipe("bigan")
    with pytest.raises(ZooError, match="set by the search"):
        tuning.split_grid_flags(recipe, ["--steps", "10"])
    with pytest.raises(ZooError, match="unknown flag"):
        tuning.split_grid_flags(recipe, ["--lamda", "1,2"])
    with pytest.raises(ZooError, match="distinct"):
        tuning.split_grid_flags(recipe, ["--lr", "1e-4,1e-4"])
    with pytest.raises(SystemExit):  # the recipe's own type check: argparse, exit 2
        tuning.split_grid_flags(recipe, ["--lr", "1e-4,fast"])
    assert "argument --lr: expected a number" in capsys.readouterr().err
    with pytest.raises(ZooError, match="not a metric with a direction"):
        tuning.objective_direction("ms_ssim_diversity")
    assert tuning.main(argv=["--family", "vqgan"]) == 1
    assert "no recipe for family 'vqgan'" in capsys.readouterr().err


# --------------------------------------------------------------- a real tiny search
@pytest.mark.slow
def test_tiny_search_records_divergence_resumes_and_reports_the_true_best(
    tmp_path, monkeypatch, capsys, eager_models
):
    import zoo.recipe

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "search"
    # AGE: the cheapest family with an encoder and a λ to trace (no spectral norm).
    argv = ["--preset", "tiny", "--steps-per-trial", "2"]
    argv += ["--checkpoints-per-trial", "1", "--eval-samples", "64", "--probe-train", "64"]
    argv += ["--lr", "1e-3,1e30", "--lambda", "100,500", "--d-steps", "1"]
    argv += ["--out", str(out), "--serving-root", str(tmp_path / "serving")]
    recipe = tuning.load_recipe("age")
    real_execute, calls = zoo.recipe.execute, []

    def killed_on_the_second_trial(plan, model, *a, **k):
        calls.append(plan.run_dir)
        result = real_execute(plan, model, *a, **k)
        if len(calls) == 2:  # after its checkpoints were written, before its evaluation
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(zoo.recipe, "execute", killed_on_the_second_trial)
    with pytest.raises(KeyboardInterrupt):
        tuning.main(recipe, argv)
    first = json.loads((out / "search" / "trial_0" / "evaluation.json").read_text())
    interrupted = calls[1]
    assert (interrupted / "checkpoints").is_dir() and not (interrupted.parent / "evaluation.json").exists()

    assert tuning.main(recipe, argv) == 0  # the same command resumes
    # Trial 0 ran once; the interrupted trial restarted; the other two ran once each.
    assert len(calls) == 2 + 3 and calls.count(calls[0]) == 1 and calls[2] == interrupted
    assert json.loads((out / "search" / "trial_0" / "evaluation.json").read_text()) == first
    printed = capsys.readouterr().out
    assert printed.count("DIVERGED") == 2 and "about" in printed

    trials = [json.loads(p.read_text()) for p in sorted((out / "search").glob("trial_*/trial.json"))]
    assert len(trials) == 4 and all(t["status"] == "COMPLETED" for t in trials)
    objective = {
        t["trial_id"]: t["metrics"]["metrics"]["fid_reconstructions"]["observations"][0]["value"][0]
        for t in trials
    }
    diverged = [t["trial_id"] for t in trials if t["hyperparameters"]["values"]["lr"] == "1e30"]
    assert len(diverged) == 2 and all(objective[i] == tuning.DIVERGED_OBJECTIVE for i in diverged)
    rows = (out / "trials.csv").read_text().splitlines()
    header = rows[0].split(",")
    table = [dict(zip(header, r.split(","))) for r in rows[1:]]
    assert [r["diverged"] for r in table] == ["0", "0", "1", "1"]
    best_id = min(objective, key=objective.get)
    assert table[0]["trial"] == best_id and float(table[0]["fid_reconstructions"]) == pytest.approx(
        objective[best_id]
    )
    assert json.loads((out / "best_export.json").read_text())["trial"] == best_id
    assert (tmp_path / "serving" / "age_generator" / "1" / "saved_model.pb").is_file()
    assert (out / "curves.png").stat().st_size > 1000 and "| fid_reconstructions |" in (
        out / "best.md"
    ).read_text()
    # A rerun of a finished search trains nothing and does not export again.
    assert tuning.main(recipe, argv) == 0 and len(calls) == 5
    assert not (tmp_path / "serving" / "age_generator" / "2").exists()
    # Another grid in the same directory is refused, not mixed in.
    assert tuning.main(recipe, argv[:-2] + ["--lambda", "1000,2000"] + argv[-2:]) == 1
    assert "other settings" in capsys.readouterr().err
