"""Run loop: checkpoints, exact resume with optimiser state, NaN guard, no overwrite."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY

from zoo import data, training
from zoo.errors import TrainingDiverged, ZooError
from zoo.models import IGEGAN


def make(**kw):
    keras.utils.set_random_seed(0)  # same initial weights, as the recipe's --seed gives
    model = IGEGAN(inversion="z_adv", gp_weight=1.0, d_steps=2, **{**TINY, **kw})
    model.compile(learning_rate=1e-3)
    return model


def stream(skip):
    return data.train_dataset("fashion_mnist", 8, seed=0, skip_batches=skip)


def all_weights(model):
    out = [w.numpy() for net in model.networks().values() for w in net.weights]
    return out + [v.numpy() for o in model.optimizers.values() for v in o.variables]


def test_resume_continues_step_optimiser_and_data_exactly(tmp_path):
    straight = make()
    training.train(
        straight, stream, steps=6, batch_size=8, run_dir=tmp_path / "a", checkpoint_every=3, verbose=False
    )

    first = make()
    result = training.train(
        first, stream, steps=3, batch_size=8, run_dir=tmp_path / "b", checkpoint_every=3, verbose=False
    )
    assert result.steps == 3 and len(result.checkpoints) == 1
    resumed = make()  # a fresh process would rebuild the model exactly like this
    training.train(
        resumed,
        stream,
        steps=6,
        batch_size=8,
        run_dir=tmp_path / "b",
        checkpoint_every=3,
        resume=True,
        verbose=False,
    )
    assert int(resumed.step.numpy()) == 6
    assert int(resumed.optimizers["d"].iterations.numpy()) == 12  # 2 critic steps x 6
    assert int(resumed.optimizers["e"].iterations.numpy()) == 6
    for a, b in zip(all_weights(straight), all_weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_restore_brings_back_optimiser_moments(tmp_path):
    model = make()
    training.train(model, stream, steps=2, batch_size=8, run_dir=tmp_path, checkpoint_every=2, verbose=False)
    clone = make()
    training.restore_latest(clone, tmp_path)
    for a, b in zip(model.optimizers["g"].variables, clone.optimizers["g"].variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert np.abs(clone.optimizers["g"].variables[2].numpy()).sum() > 0  # a non-zero Adam moment
    np.testing.assert_array_equal(model.seed_generator.state.numpy(), clone.seed_generator.state.numpy())


def test_existing_run_is_not_overwritten(tmp_path):
    training.train(make(), stream, steps=1, batch_size=8, run_dir=tmp_path, checkpoint_every=1, verbose=False)
    with pytest.raises(ZooError, match="already holds checkpoints"):
        training.train(
            make(), stream, steps=1, batch_size=8, run_dir=tmp_path, checkpoint_every=1, verbose=False
        )
    with pytest.raises(ZooError, match="no checkpoint to resume"):
        training.train(
            make(),
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

    model = make()
    with pytest.raises(TrainingDiverged, match=r"became nan at step 6; last good checkpoint: .*ckpt-4"):
        training.train(
            model, poisoned, steps=10, batch_size=8, run_dir=tmp_path, checkpoint_every=2, verbose=False
        )
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-4")
    clone = make()
    training.restore_latest(clone, tmp_path)
    assert all(np.all(np.isfinite(w)) for w in all_weights(clone))


def test_tensorboard_scalars_written(tmp_path):
    training.train(
        make(),
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
