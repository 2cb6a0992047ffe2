"""Run loop: checkpoints, exact resume with optimiser state, NaN guard, no overwrite."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, all_weights, max_difference, network_weights

from zoo import data, training
from zoo.errors import TrainingDiverged, ZooError
from zoo.models import IGEGAN


def make(eager=False, **kw):
    keras.utils.set_random_seed(0)  # same initial weights, as the recipe's --seed gives
    # No gradient penalty: it triples the trace time and resume does not touch it.
    model = IGEGAN(**{**TINY, "inversion": "z_adv", "gp_weight": 0.0, "d_steps": 2, **kw})
    # Adam's default epsilon (1e-7) turns last-bit float differences in near-zero gradients
    # (another CPU's kernels, thread order) into lr-sized steps: 1e-6 grew to 1.6e-2 within
    # six steps here with oneDNN off. epsilon=1e-4 keeps the comparison below about noise.
    model.compile(
        optimizers={p: keras.optimizers.Adam(1e-3, 0.5, 0.999, epsilon=1e-4) for p in ("d", "g", "d2", "e")},
        run_eagerly=eager,  # a few steps run faster eagerly than traced
    )
    return model


def cheap():
    """A model for tests about files rather than math: one critic step, run eagerly (no
    trace for a few steps; the recipes' traced runs are tested in tests/recipes)."""
    return make(d_steps=1, eager=True)


def stream(skip):
    return data.train_dataset("fashion_mnist", 8, seed=0, skip_batches=skip)


def test_resume_continues_step_optimiser_and_data_exactly(tmp_path):
    straight = make(eager=True)
    training.train(
        straight, stream, steps=4, batch_size=8, run_dir=tmp_path / "a", checkpoint_every=2, verbose=False
    )

    first = make(eager=True)
    result = training.train(
        first, stream, steps=2, batch_size=8, run_dir=tmp_path / "b", checkpoint_every=2, verbose=False
    )
    assert result.steps == 2 and len(result.checkpoints) == 1
    resumed = make(eager=True)  # a fresh process would rebuild the model exactly like this
    training.train(
        resumed,
        stream,
        steps=4,
        batch_size=8,
        run_dir=tmp_path / "b",
        checkpoint_every=2,
        resume=True,
        verbose=False,
    )
    assert int(resumed.step.numpy()) == 4
    assert int(resumed.optimizers["d"].iterations.numpy()) == 8  # 2 critic steps x 4
    assert int(resumed.optimizers["e"].iterations.numpy()) == 4
    np.testing.assert_array_equal(resumed.seed_generator.state.numpy(), straight.seed_generator.state.numpy())
    assert max_difference(straight, resumed) < 1e-5

    # The comparison can fail: resuming with fresh optimisers, or with the data stream
    # restarted at batch 0, ends measurably elsewhere.
    fresh_optimisers = make(eager=True)
    tf.train.Checkpoint(
        step=fresh_optimisers.step,
        seed_state=fresh_optimisers.seed_generator.state,
        **fresh_optimisers.networks(),
    ).restore(result.checkpoints[-1]).expect_partial()
    fresh_optimisers.set_phase("joint")
    fresh_optimisers.fit(stream(2), steps_per_epoch=2, epochs=1, verbose=0)
    restarted_data = make(eager=True)
    restarted_data.checkpoint().restore(result.checkpoints[-1]).assert_existing_objects_matched()
    restarted_data.set_phase("joint")
    restarted_data.fit(stream(0), steps_per_epoch=2, epochs=1, verbose=0)
    assert int(fresh_optimisers.step.numpy()) == int(restarted_data.step.numpy()) == 4
    assert max_difference(straight, fresh_optimisers, of=network_weights) > 1e-4
    assert max_difference(straight, restarted_data, of=network_weights) > 1e-4


def test_restore_brings_back_optimiser_moments(tmp_path):
    model = cheap()
    training.train(model, stream, steps=2, batch_size=8, run_dir=tmp_path, checkpoint_every=2, verbose=False)
    clone = cheap()
    training.restore_latest(clone, tmp_path)
    for a, b in zip(model.optimizers["g"].variables, clone.optimizers["g"].variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert np.abs(clone.optimizers["g"].variables[2].numpy()).sum() > 0  # a non-zero Adam moment
    np.testing.assert_array_equal(model.seed_generator.state.numpy(), clone.seed_generator.state.numpy())


def test_existing_run_is_not_overwritten(tmp_path):
    training.train(
        cheap(), stream, steps=1, batch_size=8, run_dir=tmp_path, checkpoint_every=1, verbose=False
    )
    with pytest.raises(ZooError, match="already holds checkpoints"):
        training.train(
            cheap(), stream, steps=1, batch_size=8, run_dir=tmp_path, checkpoint_every=1, verbose=False
        )
    with pytest.raises(ZooError, match="no checkpoint to resume"):
        training.train(
            cheap(),
            stream,
            steps=1,
            batch_size=8,
            run_dir=tmp_path / "new",
            checkpoint_every=1,
            resume=True,
            verbose=False,
        )


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    def poisoned(skip):
        def batch(i):
            x = tf.random.stateless_uniform((8, 28, 28, 1), seed=[1, tf.cast(i, tf.int32)])
            return tf.where(i >= 5, x * np.nan, x)  # batches 5, 6, ... contain NaN

        return tf.data.Dataset.range(skip, 1_000_000).map(batch)

    model = cheap()
    with pytest.raises(TrainingDiverged, match=r"became nan at step 6; last good checkpoint: .*ckpt-4"):
        training.train(
            model, poisoned, steps=10, batch_size=8, run_dir=tmp_path, checkpoint_every=2, verbose=False
        )
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-4")
    clone = cheap()
    training.restore_latest(clone, tmp_path)
    assert all(np.all(np.isfinite(w)) for w in all_weights(clone))


def test_tensorboard_scalars_written(tmp_path):
    training.train(
        cheap(),
        stream,
        steps=2,
        batch_size=8,
        run_dir=tmp_path,
        checkpoint_every=2,
        log_every=1,
        verbose=False,
    )
    events = list((tmp_path / "logs").glob("events.out.tfevents.*"))
    assert events
    from tensorflow.core.util import event_pb2

    tags = set()
    for record in tf.data.TFRecordDataset([str(e) for e in events]):
        event = event_pb2.Event.FromString(record.numpy())
        tags |= {v.tag for v in event.summary.value}
    assert {"d_loss", "g_loss", "e_loss", "d2_loss", "latent_recovery"} <= tags


def test_window_means_recover_the_recent_average_from_running_means():
    losses = np.array([4.0, 2.0, 6.0, 1.0, 1.0, 3.0])
    running = np.cumsum(losses) / np.arange(1, 7)  # what Keras logs after each batch
    window = training.WindowMeans()
    assert window(2, {"d": running[1]})["d"] == pytest.approx(3.0)  # mean of 4, 2
    assert window(5, {"d": running[4]})["d"] == pytest.approx(8.0 / 3)  # mean of 6, 1, 1
    assert window(6, {"d": running[5]})["d"] == pytest.approx(3.0)
    window.reset()  # a new fit call restarts Keras' running means
    assert window(1, {"d": 7.0})["d"] == pytest.approx(7.0)


def test_learning_rate_decay_follows_the_global_step():
    from zoo.trainer import LearningRateDecay

    decay = LearningRateDecay(start=100, every=10, rate=0.5)
    for step, factor in ((0, 1.0), (100, 1.0), (109, 1.0), (110, 0.5), (135, 0.125)):
        assert float(decay.factor(step)) == factor, step
    model = IGEGAN(**{**TINY, "inversion": "x_ae"})
    model.compile(learning_rate=1e-3, lr_decay=decay)
    model.step.assign(135)  # every player, critics included, reads the model's step
    assert {n: float(o.learning_rate) for n, o in model.optimizers.items()} == pytest.approx(
        {n: 1.25e-4 for n in model.optimizers}
    )
    with pytest.raises(ZooError, match="rate"):
        LearningRateDecay(rate=1.5)


def truncate(path, keep=0.5):
    """Cut a file to ``keep`` of its length, as a full disk or a killed copy leaves it."""
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


@pytest.fixture
def two_checkpoints(tmp_path):
    """A run with ckpt-2 and ckpt-4 whose newest .data file is cut short, and the
    weights as they were at step 2."""
    model = cheap()
    training.train(model, stream, steps=2, batch_size=8, run_dir=tmp_path, checkpoint_every=2, verbose=False)
    at_two = network_weights(model)
    training.train(
        model, stream, steps=4, batch_size=8, run_dir=tmp_path, checkpoint_every=2, resume=True, verbose=False
    )
    (data_file,) = (tmp_path / "checkpoints").glob("ckpt-4.data-*")
    truncate(data_file)
    return tmp_path, at_two


def test_a_truncated_newest_checkpoint_falls_back_to_the_newest_intact_one(two_checkpoints, capsys):
    run_dir, at_two = two_checkpoints
    assert training.checkpoint_problem(str(run_dir / "checkpoints" / "ckpt-2")) is None
    assert training.checkpoint_problem(str(run_dir / "checkpoints" / "ckpt-4")) is not None
    clone = cheap()
    assert training.restore_latest(clone, run_dir).endswith("ckpt-2")
    (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning:")]
    assert "ckpt-4 is unreadable" in line and "skipping it" in line
    assert int(clone.step.numpy()) == 2
    assert max(float(np.abs(a - b).max()) for a, b in zip(network_weights(clone), at_two)) == 0.0
    assert [s for s, _ in training.run_checkpoints(run_dir)] == [2]
    # --resume continues from step 2 and writes a good ckpt-4 over the damaged one.
    training.train(
        clone, stream, steps=4, batch_size=8, run_dir=run_dir, checkpoint_every=2, resume=True, verbose=False
    )
    assert training.checkpoint_problem(str(run_dir / "checkpoints" / "ckpt-4")) is None
    assert [s for s, _ in training.run_checkpoints(run_dir)] == [2, 4]


def test_no_intact_checkpoint_is_one_line(two_checkpoints):
    run_dir, _ = two_checkpoints
    (data_file,) = (run_dir / "checkpoints").glob("ckpt-2.data-*")
    data_file.write_bytes(b"\0" * data_file.stat().st_size)  # same size, wrong bytes (CRC)
    with pytest.raises(ZooError, match=r"no readable checkpoint in .*checkpoints: all 2 are damaged"):
        training.restore_latest(cheap(), run_dir)


def test_a_deleted_checkpoint_index_is_rebuilt_so_resume_works(tmp_path, capsys):
    model = cheap()
    training.train(model, stream, steps=4, batch_size=8, run_dir=tmp_path, checkpoint_every=2, verbose=False)
    (tmp_path / "checkpoints" / "checkpoint").unlink()
    assert [s for s, _ in training.run_checkpoints(tmp_path)] == [2, 4]  # readers need no index
    with pytest.raises(ZooError, match="already holds checkpoints"):  # a fresh run is still refused
        training.train(cheap(), stream, steps=6, batch_size=8, run_dir=tmp_path, checkpoint_every=2)
    clone = cheap()
    training.train(
        clone, stream, steps=6, batch_size=8, run_dir=tmp_path, checkpoint_every=2, resume=True, verbose=False
    )
    assert "rebuilt the checkpoint index" in capsys.readouterr().err
    assert [s for s, _ in training.checkpoint_paths(tmp_path / "checkpoints")] == [2, 4, 6]
    state = tf.train.get_checkpoint_state(str(tmp_path / "checkpoints"))
    assert [p.rsplit("-", 1)[-1] for p in state.all_model_checkpoint_paths] == ["2", "4", "6"]


def test_a_runaway_loss_that_stays_finite_stops_the_run(tmp_path):
    model = cheap()
    model.compile(learning_rate=1e-3, divergence_bound=1e-3, run_eagerly=True)  # any real loss is beyond it
    with pytest.raises(TrainingDiverged, match=r"reached .*, beyond the divergence bound 0.001, at step 1;"):
        training.train(
            model, stream, steps=4, batch_size=8, run_dir=tmp_path, checkpoint_every=2, verbose=False
        )
    assert not (tmp_path / "checkpoints").exists() or not list((tmp_path / "checkpoints").iterdir())
    model = cheap()
    model.compile(learning_rate=1e-3, run_eagerly=True)  # the default bound: the same run trains
    assert model.divergence_bound == model.DIVERGENCE_BOUND == 1e6
    training.train(
        model, stream, steps=2, batch_size=8, run_dir=tmp_path / "b", checkpoint_every=2, verbose=False
    )
    with pytest.raises(ZooError, match="divergence_bound must be > 0"):
        model.compile(divergence_bound=0)


@pytest.mark.slow
def test_posthoc_switches_phase_at_the_encoder_start_step_and_resumes_across_it(tmp_path):
    def posthoc(eager):  # z_adv: E and D2
        return make(encoder_schedule="posthoc", encoder_start_step=4, d_steps=1, eager=eager)

    def fit(model, steps, run_dir, resume=False):
        training.train(
            model,
            stream,
            steps=steps,
            batch_size=8,
            run_dir=run_dir,
            checkpoint_every=3,
            resume=resume,
            verbose=False,
        )

    model = posthoc(eager=False)  # traced: the switch must retrace the step for E's players

    def trained(name):  # trainable weights only: G's batch-norm statistics move under E's calls
        return model.networks()[name].trainable_weights

    start = {name: [w.numpy().copy() for w in trained(name)] for name in model.networks()}

    def moved(name):
        return max(float(np.abs(a - w.numpy()).max()) for a, w in zip(start[name], trained(name)))

    fit(model, 4, tmp_path / "a")  # the GAN phase: G and D train, E does not
    assert moved("g") > 0 and moved("d") > 0 and moved("e") == moved("d2") == 0.0
    start = {name: [w.numpy().copy() for w in trained(name)] for name in model.networks()}
    fit(model, 8, tmp_path / "a", resume=True)  # the encoder phase: E alone
    assert moved("e") > 0 and moved("d2") > 0 and moved("g") == moved("d") == 0.0
    # Interrupted at step 3 (the checkpoint before the switch), resumed past it: the same run.
    other = posthoc(eager=True)  # eager: a few steps, no trace
    fit(other, 3, tmp_path / "b")
    resumed = posthoc(eager=True)
    fit(resumed, 8, tmp_path / "b", resume=True)
    assert max_difference(model, resumed, of=network_weights) < 1e-5


def test_refresh_batch_statistics_sets_the_average_of_the_batch_statistics():
    """Precise BN: after the refresh each batch-norm layer's moving mean / variance is the
    mean of its per-batch means / variances over the given batches (computed here from
    the features that reach the layer), and its momentum is what it was."""
    from zoo import networks

    keras.utils.set_random_seed(1)
    net = networks.build_encoder(28, 1, 8, 1 / 16, normalization="batch", feature_norm="batch")
    norms = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == len(networks.TRUNK) + 1
    rng = np.random.default_rng(2)
    batches = [rng.uniform(size=(16, 28, 28, 1)).astype(np.float32) for _ in range(3)]
    assert training.refresh_batch_statistics(net, iter(batches)) == 3
    for layer in (norms[0], norms[-1]):
        inputs = keras.Model(net.input, layer.input)
        feats = [inputs(b, training=True).numpy() for b in batches]
        axes = tuple(range(feats[0].ndim - 1))
        np.testing.assert_allclose(
            layer.moving_mean.numpy(),
            np.mean([f.mean(axis=axes) for f in feats], axis=0),
            rtol=1e-4,
            atol=1e-6,
        )
        np.testing.assert_allclose(
            layer.moving_variance.numpy(),
            np.mean([f.var(axis=axes) for f in feats], axis=0),
            rtol=1e-3,
            atol=1e-7,
        )
    assert {layer.momentum for layer in norms} == {0.9}
    assert training.refresh_batch_statistics(networks.build_encoder(28, 1, 8, 1 / 16), iter(batches)) == 0


@pytest.mark.parametrize("source", ["batches", "dataset"])
def test_checkpoints_hold_the_refreshed_statistics_of_the_first_batches(tmp_path, source):
    """A BiGAN with E's feature norm: each checkpoint stores the statistics of the first
    STATISTICS_BATCHES batches of the run's stream under that checkpoint's weights (not
    the moving averages); a family without it stores its moving averages unchanged."""
    from zoo.models import BiGAN

    keras.utils.set_random_seed(0)
    model = BiGAN(**TINY, encoder_feature_norm="batch")
    assert model.batch_statistics_networks() == [model.encoder]
    assert BiGAN(**TINY).batch_statistics_networks() == []
    model.compile(learning_rate=1e-3, run_eagerly=True)
    kwargs = (
        {"batches": data.train_batches("fashion_mnist", 8, seed=0)}
        if source == "batches"
        else {"make_dataset": stream}
    )
    training.train(
        model, **kwargs, steps=2, batch_size=8, run_dir=tmp_path, checkpoint_every=2, verbose=False
    )
    norm = model.encoder.get_layer("feature_norm")
    stored = norm.moving_mean.numpy().copy()
    # the same statistics, recomputed from the first batches of a fresh stream
    first = (
        [kwargs["batches"](tf.constant(i, tf.int64)) for i in range(training.STATISTICS_BATCHES)]
        if source == "batches"
        else list(stream(0).take(training.STATISTICS_BATCHES))
    )
    norm.moving_mean.assign(np.zeros_like(stored))
    training.refresh_batch_statistics(model.encoder, iter(first))
    np.testing.assert_allclose(stored, norm.moving_mean.numpy(), rtol=1e-5, atol=1e-7)
    restored = BiGAN(**TINY, encoder_feature_norm="batch")
    training.restore_latest(restored, tmp_path, networks_only=True)
    np.testing.assert_array_equal(restored.encoder.get_layer("feature_norm").moving_mean.numpy(), stored)
