"""Fused training: k steps per call equal k single steps; in-graph batches; events on the
requested steps; exact resume; the exact non-finite step; precision and XLA choices."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, max_difference, network_weights

from zoo import data, training
from zoo.data import InMemoryBatches
from zoo.errors import TrainingDiverged, ZooError
from zoo.models import GAN, IGEGAN


def make(**kw):
    keras.utils.set_random_seed(0)
    model = IGEGAN(**{**TINY, "inversion": "x_ae", "gp_weight": 0.0, **kw})
    # epsilon 1e-4: see tests/zoo/test_training.py (last-bit differences stay noise).
    model.compile(
        optimizers={p: keras.optimizers.Adam(1e-3, 0.5, 0.999, epsilon=1e-4) for p in ("d", "g", "e")}
    )
    return model


@pytest.fixture(scope="module")
def images():
    return data.train_array("fashion_mnist")[:200]


def test_fused_steps_picks_the_largest_common_block():
    assert training.fused_steps(0, 1000, 100, 50) == 50
    assert training.fused_steps(1000, 1000, 100, 50, 250) == 50
    assert training.fused_steps(0, 20, 5, 5) == 5
    assert training.fused_steps(0, 5000, 100, 50, 7) == 1  # an eval every 7 steps: no fusion
    assert training.fused_steps(0, 600, 300) == 100  # capped, still a divisor
    assert training.fused_steps(0, 2401 * 7, 2401 * 7) == 49  # 7^5: the largest divisor <= 100


def test_in_memory_batches_are_a_pure_function_of_seed_and_step(images):
    a, b = InMemoryBatches(images, 16, seed=3), InMemoryBatches(images, 16, seed=3)
    epoch0 = np.concatenate([a(s).numpy() for s in range(12)])  # 200 // 16 = 12 batches
    # Every batch of an epoch is distinct; together they are 192 of the 200 images.
    flat = (epoch0.reshape(len(epoch0), -1) * 255).round().astype(np.uint8)
    expected = {img.tobytes() for img in images.reshape(200, -1)}
    assert len(expected) == 200  # the 200 source images are distinct
    assert len(flat) == 192 and {img.tobytes() for img in flat} <= expected
    assert len({img.tobytes() for img in flat}) == 192  # no image twice in one epoch
    # Step 29 drawn cold (without steps 0..28) equals step 29 after the stream.
    for s in range(12, 29):
        a(s)
    np.testing.assert_array_equal(a(29).numpy(), b(29).numpy())
    # Epochs differ in order; another seed differs too; pixels are floats in [0, 1].
    assert not np.array_equal(a(0).numpy(), a(12).numpy())
    assert not np.array_equal(a(0).numpy(), InMemoryBatches(images, 16, seed=4)(0).numpy())
    x = a(0).numpy()
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5


def test_in_memory_batches_serve_float_points_unchanged():
    points = np.arange(20, dtype=np.float32).reshape(10, 2)
    x = InMemoryBatches(points, 5, seed=0)(0).numpy()
    assert x.shape == (5, 2) and set(map(tuple, x)) <= set(map(tuple, points))
    with pytest.raises(ZooError, match="fewer than the batch size"):
        InMemoryBatches(points, 11, seed=0)


def test_k_fused_steps_equal_k_single_steps(images):
    source = InMemoryBatches(images, 16, seed=0)
    single, fused = make(), make()
    single.fit_source(source, 6, steps_per_execution=1)
    fused.fit_source(source, 6, steps_per_execution=3)
    assert int(single.step.numpy()) == int(fused.step.numpy()) == 6
    assert int(fused.optimizers["e"].iterations.numpy()) == 6
    np.testing.assert_array_equal(single.seed_generator.state.numpy(), fused.seed_generator.state.numpy())
    assert max_difference(single, fused) < 1e-5
    # The comparison can fail: one step fewer ends measurably elsewhere.
    short = make()
    short.fit_source(source, 5, steps_per_execution=5)
    assert max_difference(single, short) > 1e-3
    with pytest.raises(ZooError, match="must divide"):
        fused.fit_source(source, 7, steps_per_execution=3)


def test_fused_in_graph_training_matches_the_same_batches_fed_by_tf_data(images):
    source = InMemoryBatches(images, 16, seed=0)
    batches = np.stack([source(s).numpy() for s in range(2)])
    fed = make()
    fed.fit(tf.data.Dataset.from_tensor_slices(batches), steps_per_epoch=2, epochs=1, verbose=0)
    drawn = make()
    drawn.fit_source(source, 2, steps_per_execution=2)
    # Keras' tf.data step is traced with an unknown batch size, the in-graph one with a
    # static one: other kernels, last-bit differences that Adam's first steps amplify
    # (2.8e-7 in the weights after two steps with two threads, 6.3e-5 with one). The
    # same two batches in the other order must differ far more.
    reordered = make()
    reordered.fit(tf.data.Dataset.from_tensor_slices(batches[::-1]), steps_per_epoch=2, epochs=1, verbose=0)
    same, other = (max_difference(fed, m, of=network_weights) for m in (drawn, reordered))
    assert same < 1e-3 and same < 0.1 * other, (same, other)


class Steps(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(int(self.model.step.numpy()))


def test_train_lands_checkpoints_and_callbacks_on_the_requested_steps_and_resumes_exactly(tmp_path, images):
    source = InMemoryBatches(images, 16, seed=0)
    straight, calls = make(), Steps()
    run = training.train(
        straight,
        batches=source,
        steps=12,
        batch_size=16,
        run_dir=tmp_path / "a",
        checkpoint_every=6,
        log_every=3,
        verbose=False,
        callbacks=(calls,),
    )
    assert [int(p.rsplit("-", 1)[1]) for p in run.checkpoints] == [6, 12]
    assert calls.seen == [3, 6, 9, 12]  # blocks of 3: every progress/scalar step is a block end
    half = make()
    training.train(
        half,
        batches=source,
        steps=6,
        batch_size=16,
        run_dir=tmp_path / "b",
        checkpoint_every=6,
        log_every=3,
        verbose=False,
    )
    resumed = make()
    training.train(
        resumed,
        batches=InMemoryBatches(images, 16, seed=0),
        steps=12,
        batch_size=16,
        run_dir=tmp_path / "b",
        checkpoint_every=6,
        log_every=3,
        resume=True,
        verbose=False,
    )
    np.testing.assert_array_equal(resumed.seed_generator.state.numpy(), straight.seed_generator.state.numpy())
    assert max_difference(straight, resumed) < 1e-5
    with pytest.raises(ZooError, match="exactly one of"):
        training.train(make(), steps=2, batch_size=16, run_dir=tmp_path / "c", checkpoint_every=2)


class PoisonAt:
    """In-graph batches that turn NaN from global step ``at`` on."""

    def __init__(self, source, at):
        self.source, self.at = source, at

    def __call__(self, step):
        x = self.source(step)
        return tf.where(step >= self.at, x * np.nan, x)


def test_nan_inside_a_fused_block_reports_its_exact_step(tmp_path, images):
    model = make()
    with pytest.raises(TrainingDiverged, match=r"at step 8; last good checkpoint: .*ckpt-5"):
        training.train(
            model,
            batches=PoisonAt(InMemoryBatches(images, 16, seed=0), 7),  # the 8th step sees NaN
            steps=10,
            batch_size=16,
            run_dir=tmp_path,
            checkpoint_every=5,
            log_every=5,
            verbose=False,
        )
    assert int(model.step.numpy()) == 10  # the block ran to its end; nothing was saved after 5
    assert training.run_checkpoints(tmp_path)[-1][0] == 5


def test_precision_policies_keep_float32_variables_and_scale_float16_losses():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        bf16 = IGEGAN(**{**TINY, "inversion": "x_ae"})
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert bf16.generator.layers[1].compute_dtype == "bfloat16"
    assert bf16.generator.layers[1].variable_dtype == "float32"
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:  # point MLPs stay float32 under a mixed policy (bf16 was slower for them)
        mlp = GAN(resolution=1, channels=2, latent_dim=2, width=0.25, architecture="mlp")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert {layer.compute_dtype for net in mlp.networks().values() for layer in net.layers[1:]} == {"float32"}
    bf16.compile()
    assert not isinstance(bf16.optimizers["g"], keras.optimizers.LossScaleOptimizer)
    assert bf16.jit_compile is False  # XLA was slower on every benchmark row here
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        fp16 = GAN(**{**TINY, "width": 1 / 16})
    finally:
        keras.mixed_precision.set_global_policy("float32")
    fp16.compile(run_eagerly=True)
    assert isinstance(fp16.optimizers["g"], keras.optimizers.LossScaleOptimizer)
    # Both train: finite losses, float32 weights that move.
    x = tf.random.uniform((8, 28, 28, 1))
    for model in (bf16, fp16):
        model.compile(learning_rate=1e-3, run_eagerly=True)
        before = [w.numpy().copy() for w in model.generator.trainable_weights]
        logs = model.fit(
            tf.data.Dataset.from_tensors(x).repeat(), steps_per_epoch=2, epochs=1, verbose=0
        ).history
        assert all(np.isfinite(v[-1]) for v in logs.values())
        after = model.generator.trainable_weights
        assert all(w.dtype == "float32" for w in after)
        assert max(float(np.abs(a - b.numpy()).max()) for a, b in zip(before, after)) > 1e-5
