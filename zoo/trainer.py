"""The one adversarial trainer every family builds on.

``AdversarialModel`` owns the mechanics of ``train_step``: seeded latent sampling, the
``d_steps`` critic updates per generator update, one Adam optimiser per player, the
optional WGAN-GP penalty, metric trackers, a step counter and the checkpointable state.
A family only declares its players (network + objective) and writes the objectives.

Fused steps: ``steps_per_execution = k`` runs k train steps per ``tf.function`` call.
With a ``batch_source`` (an in-graph sampler such as ``zoo.data.InMemoryBatches``,
called with the global step) the k steps are one ``tf.while_loop`` that draws its own
batches, so nothing crosses to Python between them and, with ``jit_compile``, XLA
compiles the whole block; ``fit_source`` drives it. The block is traced without
AutoGraph: a ``train_step`` or objective whose control flow depends on a tensor uses
``tf.cond`` / ``tf.while_loop`` (as ``PMDGAN``'s adaptive norm weight does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from zoo import losses, networks
from zoo.errors import ZooError

Objective = Callable[[tf.Tensor, tf.Tensor], dict]


@dataclasses.dataclass(frozen=True)
class LearningRateDecay:
    """Exponential decay by ``rate`` every ``every`` global steps after step ``start``:
    lr(step) = lr_0 * rate ** max(0, floor((step - start) / every)). Seed 004 App. B:
    0.99 per epoch from epoch 400 of 800. ``rate`` = 1 is a constant rate."""

    start: int = 0
    every: int = 1
    rate: float = 1.0

    def __post_init__(self):
        if self.start < 0 or self.every < 1 or not 0.0 < self.rate <= 1.0:
            raise ZooError(f"learning-rate decay needs start >= 0, every >= 1, 0 < rate <= 1; got {self}")

    def factor(self, step) -> tf.Tensor:
        """The multiplier of the initial learning rate at global step ``step``."""
        k = tf.maximum(tf.cast(step, tf.int64) - self.start, 0) // self.every
        return tf.pow(tf.constant(self.rate, tf.float32), tf.cast(k, tf.float32))


@dataclasses.dataclass(frozen=True)
class Player:
    """One network with its own optimiser and objective.

    ``objective(x, z)`` returns a dict with the scalar ``"loss"`` minimised w.r.t. the
    network's trainable variables, plus any extra scalars to show as metrics.
    ``critic`` players are updated ``d_steps`` times per step, the others once.
    ``phases`` lists the training phases in which the player is updated.
    """

    name: str
    network: keras.Model
    objective: Objective
    critic: bool = False
    phases: tuple[str, ...] = ("joint",)


class AdversarialModel(keras.Model):
    """Base trainer for GAN-like families (TensorFlow backend).

    Args:
        resolution, channels, latent_dim, width: shape of the data, of z, and the network
            width multiplier (see ``zoo.networks``).
        d_steps: critic updates per generator/encoder update. Each critic update draws a
            fresh z and reuses the step's real batch (see ``fresh_critic_batches``).
        g_steps: updates of the non-critic players (G, E) per step, after the critic
            updates, each with a fresh z (seed 001 reports DCGAN and α-GAN with 2).
        gp_weight: weight of the WGAN-GP penalty added to every critic loss (0 = off).
            Interpolation coefficients are uniform in [0, 1], one per example.
        seed: seed of the model's ``keras.random.SeedGenerator`` (latents, GP mixing).
        architecture: ``"dcgan"`` (the SN-DCGAN image networks) or ``"mlp"`` (points of
            ``channels`` coordinates with ``resolution`` 1, e.g. the 2-D mixtures of
            ``zoo.toy``); see ``zoo.networks``.
        fresh_critic_batches: give each of the ``d_steps`` critic updates its own real
            batch (Gulrajani et al. 2017, Alg. 1) instead of reusing the step's one. The
            model then takes ``batches_per_step`` = ``d_steps`` batches per step, stacked
            into one [d_steps * B, ...] batch; G and E use the last of them.
        spectral_norm: how the discriminators' layers are spectrally normalised:
            ``"miyato"`` (Miyato et al.'s reparameterisation, ``zoo.layers.SpectralNorm``,
            seed 000 A.3.2's; the default since the zoo table measured it better: GAN FID
            10.5 vs 24.5, BiGAN 17.1 vs 20.4, seed 0) or ``"projection"``
            (``keras.layers.SpectralNormalization``, the default before).
        adam_betas: every player's Adam (beta_1, beta_2); None: the family's paper's
            (``default_adam_betas``).
        lr_ratios: player name -> multiplier of ``compile``'s learning rate (e.g.
            ``{"d": 0.5}``, or a faster D2 for a two-time-scale rule); None: the family's
            (``default_lr_ratios``, usually none).
    """

    PHASES: tuple[str, ...] = ("joint",)
    ARCHITECTURES: tuple[str, ...] = networks.ARCHITECTURES
    # Whether x = G(z) with z ~ N(0, I) is the whole generative model, so AIS can estimate
    # log p(x) (``zoo.ais``). False for a prior on the sphere (AGE) or a generator that
    # draws extra noise (IVE-GAN).
    GAUSSIAN_LATENT: bool = True
    # A logged value (loss or metric) beyond this in absolute value is divergence, as
    # NaN is. Measured: a tiny IGE-GAN run with --lr 1e8 logged latent_recovery 4.7e35 at
    # step 2, still finite; command 1's logged values stay below 20. A per-image -ELBO
    # sums over pixels, so a large-image VAE needs a larger bound (compile(divergence_bound=)).
    DIVERGENCE_BOUND: float = 1e6
    # Adam's (beta_1, beta_2) when ``compile`` is not told: seed 000 A.3.3's; families
    # whose papers use others override it (seed 001 App. H: 0.5 and 0.9).
    ADAM_BETAS: tuple[float, float] = (0.5, 0.999)

    def __init__(
        self,
        resolution: int = 28,
        channels: int = 1,
        latent_dim: int = 64,
        width: float = 1.0,
        d_steps: int = 1,
        gp_weight: float = 0.0,
        seed: int | None = None,
        architecture: str = "dcgan",
        g_steps: int = 1,
        spectral_norm: str = "miyato",
        fresh_critic_batches: bool = False,
        adam_betas: Sequence[float] | None = None,
        lr_ratios: dict[str, float] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        networks.check_spectral_norm(spectral_norm)
        if architecture not in self.ARCHITECTURES:
            raise ZooError(
                f"unknown architecture {architecture!r}; expected one of {', '.join(self.ARCHITECTURES)}"
            )
        if int(d_steps) < 1 or int(g_steps) < 1:
            raise ZooError(f"d_steps and g_steps must be >= 1, got {d_steps} and {g_steps}")
        if float(gp_weight) < 0:
            raise ZooError(f"gp_weight must be >= 0, got {gp_weight}")
        self.resolution = int(resolution)
        self.channels = int(channels)
        self.latent_dim = int(latent_dim)
        self.width = float(width)
        self.d_steps = int(d_steps)
        self.g_steps = int(g_steps)
        self.gp_weight = float(gp_weight)
        self.seed = seed
        self.architecture = architecture
        self.spectral_norm = spectral_norm
        self.fresh_critic_batches = bool(fresh_critic_batches)
        betas = self.default_adam_betas() if adam_betas is None else tuple(float(b) for b in adam_betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ZooError(f"adam_betas must be two numbers in [0, 1), got {adam_betas}")
        self.adam_betas = betas
        ratios = self.default_lr_ratios() if lr_ratios is None else lr_ratios
        if not all(float(r) > 0 for r in ratios.values()):
            raise ZooError(f"lr_ratios must be > 0, got {lr_ratios}")
        self.lr_ratios = {str(k): float(v) for k, v in ratios.items()}
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.step = keras.Variable(0, dtype="int64", trainable=False, name="step")
        self.phase = self.PHASES[0]
        self.optimizers: dict[str, keras.optimizers.Optimizer] = {}
        self._trackers: dict[str, keras.metrics.Mean] = {}
        # The first global step whose logged values were not finite or beyond
        # ``divergence_bound`` in absolute value (-1: none), which value (an index into
        # ``logged_names``) and its largest |entry| then; exact inside fused blocks, read
        # by ``zoo.training.DivergenceGuard``. Not checkpointed.
        self.diverged_step = keras.Variable(-1, dtype="int64", trainable=False, name="diverged_step")
        self.diverged_value = keras.Variable(0.0, dtype="float32", trainable=False, name="diverged_value")
        self.diverged_index = keras.Variable(0, dtype="int64", trainable=False, name="diverged_index")
        self.logged_names: list[str] = []
        self.divergence_bound = self.DIVERGENCE_BOUND
        self.batch_source: Callable[[tf.Tensor], object] | None = None

    # ----------------------------------------------------------------- family API
    def default_adam_betas(self) -> tuple[float, float]:
        """Adam's betas when the constructor is not given them: ``ADAM_BETAS``."""
        return tuple(self.ADAM_BETAS)

    def default_lr_ratios(self) -> dict[str, float]:
        """Per-player learning-rate multipliers when the constructor is not given them."""
        return {}

    def all_players(self) -> list[Player]:
        """Every player of the family, in update order. Families override this."""
        raise NotImplementedError

    def extra_metric_names(self) -> Sequence[str]:
        """Names of the non-loss scalars the objectives return (e.g. latent recovery)."""
        return ()

    def phase_for_step(self, step: int) -> str:
        """The training phase at a given global step (one phase unless overridden)."""
        return self.PHASES[0]

    @property
    def batches_per_step(self) -> int:
        """Real batches one train step takes (stacked): ``d_steps`` with
        ``fresh_critic_batches``, else 1. Data sources give ``batches_per_step * B`` images."""
        return self.d_steps if self.fresh_critic_batches else 1

    # ------------------------------------------------------------------ mechanics
    def sample_latent(self, batch_size) -> tf.Tensor:
        """z ~ P_Z of shape [batch_size, latent_dim], from the model's seed generator.
        P_Z = N(0, I) unless a family overrides this and ``prior_samples`` together."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def prior_samples(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of P_Z as float32 numpy, from ``rng``: what evaluation, grids and
        export feed the generator (the same distribution as ``sample_latent``)."""
        return rng.standard_normal((n, self.latent_dim)).astype(np.float32)

    def active_players(self) -> list[Player]:
        return [p for p in self.all_players() if self.phase in p.phases]

    def set_phase(self, phase: str) -> None:
        """Switch phase; the next ``fit`` retraces ``train_step`` for the new players."""
        if phase not in self.PHASES:
            raise ZooError(f"unknown phase {phase!r}; expected one of {', '.join(self.PHASES)}")
        if phase != self.phase:
            self.phase = phase
            self.train_function = None

    def serving_signatures(self, rng: np.random.Generator) -> dict[str, tuple]:
        """What ``export`` serves: role -> (network, {input name: sample batch}, output
        name). The encoder (``images`` -> ``z``), if the family has one, and the
        generator (``z`` -> ``images``); the samples only check the export."""
        out = {}
        if getattr(self, "encoder", None) is not None:
            shape = (5, self.resolution, self.resolution, self.channels)
            out["encoder"] = (self.encoder, {"images": rng.uniform(size=shape).astype(np.float32)}, "z")
        out["generator"] = (self.generator, {"z": self.prior_samples(5, rng)}, "images")
        return out

    def network_kwargs(self) -> dict:
        """Keyword arguments every ``zoo.networks`` factory of this model takes."""
        return {"architecture": self.architecture}

    def discriminator_kwargs(self) -> dict:
        """``network_kwargs`` plus what the discriminator factories take."""
        return {**self.network_kwargs(), "spectral_norm": self.spectral_norm}

    def batch_statistics_networks(self) -> list[keras.Model]:
        """Networks on real images whose batch-norm inference statistics ``zoo.training``
        recomputes from the training data before each checkpoint (none unless a family
        says so; see ``zoo.training.refresh_batch_statistics``)."""
        return []

    def networks(self) -> dict[str, keras.Model]:
        """Every network of the model by player name."""
        return {p.name: p.network for p in self.all_players()}

    def compile(
        self,
        learning_rate: float = 2e-4,
        beta_1: float | None = None,
        beta_2: float | None = None,
        lr_decay: LearningRateDecay | None = None,
        optimizers: dict[str, keras.optimizers.Optimizer] | None = None,
        jit_compile: bool = False,
        divergence_bound: float | None = None,
        **kwargs,
    ) -> None:
        """One Adam(learning_rate * lr_ratios[player], beta_1, beta_2) per player, as in
        seed 000 A.3.3; the betas default to the model's ``adam_betas``.

        ``divergence_bound`` (default ``DIVERGENCE_BOUND``): a step whose logged values
        are NaN/Inf or exceed it in absolute value counts as divergence (``zoo.training``
        then stops the run).

        ``jit_compile`` defaults to False: on the 2-core CPU XLA made every workload of
        ``benchmarks/compare_pytorch.py`` slower (in fused blocks, one invocation each: the
        cpu-preset IGE-GAN 425 -> 11 img/s, the 2-D MLP GAN 1 982 -> 35 steps/s); pass
        True to use it.

        ``lr_decay`` decays every player's rate with the model's global step (not the
        optimiser's own iterations, which count ``d_steps`` per step for critics).
        ``optimizers`` may replace some of them by player name (e.g. ``{"e": ...}``).
        """
        super().compile(jit_compile=jit_compile, **kwargs)
        beta_1 = self.adam_betas[0] if beta_1 is None else float(beta_1)
        beta_2 = self.adam_betas[1] if beta_2 is None else float(beta_2)
        if divergence_bound is not None:
            if not float(divergence_bound) > 0:
                raise ZooError(f"divergence_bound must be > 0, got {divergence_bound}")
            self.divergence_bound = float(divergence_bound)
        players = self.all_players()
        names = [p.name for p in players]
        unknown = sorted(set(optimizers or {}) - set(names))
        if unknown:
            raise ZooError(f"optimizers for unknown players {unknown}; players are {names}")
        unknown = sorted(set(self.lr_ratios) - set(names))
        if unknown:
            raise ZooError(f"lr_ratios for unknown players {unknown}; players are {names}")
        self.optimizers = {}
        self.lr_decay = lr_decay

        def rate_of(player: str):
            base = learning_rate * self.lr_ratios.get(player, 1.0)
            if lr_decay is not None and lr_decay.rate != 1.0:
                return lambda: base * lr_decay.factor(self.step)  # read each step
            return base

        float16 = keras.mixed_precision.global_policy().compute_dtype == "float16" or any(
            p.network.dtype_policy.compute_dtype == "float16" for p in players
        )
        for p in players:
            opt = (optimizers or {}).get(p.name) or keras.optimizers.Adam(
                learning_rate=rate_of(p.name), beta_1=beta_1, beta_2=beta_2, name=f"{p.name}_adam"
            )
            if float16 and not isinstance(opt, keras.optimizers.LossScaleOptimizer):
                opt = keras.optimizers.LossScaleOptimizer(opt, name=f"{p.name}_loss_scale")
            # Build now so checkpoints can restore slot variables before the first step.
            opt.build(p.network.trainable_variables)
            self.optimizers[p.name] = opt
        self._trackers = {
            name: keras.metrics.Mean(name=name)
            for name in [f"{n}_loss" for n in names] + list(self.extra_metric_names())
        }

    @property
    def metrics(self) -> list:
        return list(self._trackers.values())

    def gradient_penalty_term(self, critic: Callable, real, fake) -> tf.Tensor:
        """gp_weight * WGAN-GP penalty of ``critic`` at x_hat = a*real + (1-a)*fake.

        ``real``/``fake`` are tensors or equal-length lists (a joint critic's inputs);
        one a ~ U[0, 1] per example is shared by all inputs of that example.
        """
        if self.gp_weight == 0.0:
            return tf.constant(0.0)
        single = not isinstance(real, (list, tuple))
        real, fake = ([real], [fake]) if single else (list(real), list(fake))
        alpha = keras.random.uniform((tf.shape(real[0])[0],), seed=self.seed_generator)
        interpolates = []
        for r, f in zip(real, fake):
            a = tf.reshape(tf.cast(alpha, r.dtype), [-1] + [1] * (len(r.shape) - 1))
            interpolates.append(a * r + (1.0 - a) * f)
        with tf.GradientTape() as tape:
            tape.watch(interpolates)
            logits = critic(interpolates[0] if single else interpolates)
        grads = tape.gradient(logits, interpolates)
        return self.gp_weight * losses.gradient_penalty(grads)

    def _update(self, player: Player, x: tf.Tensor, z: tf.Tensor) -> dict:
        variables = player.network.trainable_variables
        optimizer = self.optimizers[player.name]
        with tf.GradientTape() as tape:
            out = dict(player.objective(x, z))
            loss = out.pop("loss")
            scaled = optimizer.scale_loss(loss)  # loss scaling under mixed_float16, else loss
        grads = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return {f"{player.name}_loss": loss, **out}

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        chunks = tf.split(x, self.batches_per_step, axis=0) if self.batches_per_step > 1 else [x]
        batch = tf.shape(chunks[0])[0]
        players = self.active_players()
        critics = [p for p in players if p.critic]
        others = [p for p in players if not p.critic]
        results = {}
        for i in range(self.d_steps if critics else 0):
            z = self.sample_latent(batch)
            for p in critics:
                results.update(self._update(p, chunks[i % len(chunks)], z))
        for _ in range(self.g_steps if others else 0):
            z = self.sample_latent(batch)
            for p in others:
                results.update(self._update(p, chunks[-1], z))
        self.step.assign_add(1)
        self.record_divergence(results)
        for name, value in results.items():
            self._trackers[name].update_state(value)
        return {name: self._trackers[name].result() for name in results}

    def record_divergence(self, results: dict) -> None:
        """Keep the first step (``self.step``) at which a value of ``results`` was NaN/Inf
        or beyond ``divergence_bound``, which value was, and its largest |entry|."""
        self.logged_names = list(results)  # fixed when the step is traced
        each = tf.stack([tf.reduce_max(tf.abs(tf.cast(v, tf.float32))) for v in results.values()])
        finite = tf.math.is_finite(each)
        bad_each = tf.logical_or(tf.logical_not(finite), each > self.divergence_bound)
        bad = tf.reduce_any(bad_each)
        which = tf.argmax(tf.cast(bad_each, tf.int32), output_type=tf.int64)  # the first bad value
        first = tf.logical_and(bad, self.diverged_step < 0)
        self.diverged_step.assign(tf.where(first, tf.cast(self.step, tf.int64), self.diverged_step))
        self.diverged_value.assign(tf.where(first, tf.gather(each, which), self.diverged_value))
        self.diverged_index.assign(tf.where(first, which, self.diverged_index))

    # -------------------------------------------------------------- fused steps
    def make_train_function(self, force: bool = False):
        """Keras' step loop over a ``tf.data`` iterator, or, with a ``batch_source``,
        ``steps_per_execution`` steps in one ``tf.while_loop`` drawing batches in-graph
        (the iterator then only paces Keras' loop; its elements are ignored)."""
        if self.train_function is not None and not force:
            return self.train_function
        if self.batch_source is None:
            return super().make_train_function(force)
        source, k = self.batch_source, int(self.steps_per_execution)

        def block():
            names: list[str] = []  # filled while the loop body is traced (the logs' keys)

            def body(i):
                logs = self.train_step(source(self.step.value))
                names[:] = [n for n in logs if n in self._trackers]
                return (i + 1,)

            tf.while_loop(lambda i: i < k, body, (tf.constant(0),))
            return {n: self._trackers[n].result() for n in names}

        if not self.run_eagerly:
            # No AutoGraph: the step is graph code as written (Python loops over players,
            # tf.cond where a branch depends on a tensor), and converting it cost ~3.5 s of
            # a tiny recipe run's 15.7 s in a fresh process (Intel Xeon VM).
            block = tf.function(block, jit_compile=bool(self.jit_compile), autograph=False)
        self.train_function = lambda iterator: block()
        return self.train_function

    def fit_source(
        self,
        source: Callable[[tf.Tensor], object],
        steps: int,
        steps_per_execution: int = 1,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        verbose: int = 0,
    ):
        """Train ``steps`` steps on batches drawn in-graph by ``source(global_step)``,
        ``steps_per_execution`` (a divisor of ``steps``) per call; callbacks see one
        batch per call. Returns the ``History``."""
        k = int(steps_per_execution)
        if k < 1 or steps % k:
            raise ZooError(f"steps_per_execution must divide steps; got {k} and {steps}")
        if self.batch_source is not source or self.steps_per_execution != k:
            self.batch_source, self.steps_per_execution = source, k
            self.train_function = None
        ticks = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).repeat()
        return self.fit(
            ticks, steps_per_epoch=steps, epochs=1, verbose=verbose, callbacks=list(callbacks), shuffle=False
        )

    # ---------------------------------------------------------------- persistence
    def training_state(self) -> dict:
        """Non-trainable state a family adds to checkpoints (e.g. an adapted loss weight)."""
        return {}

    def checkpoint(self) -> tf.train.Checkpoint:
        """A ``tf.train.Checkpoint`` of all networks, all optimisers, the step, the
        seed-generator state and ``training_state()`` (``.keras`` files drop optimiser
        state for this model)."""
        objects = dict(self.networks())
        objects.update({f"{n}_optimizer": o for n, o in self.optimizers.items()})
        objects.update(self.training_state())
        return tf.train.Checkpoint(step=self.step, seed_state=self.seed_generator.state, **objects)

    def get_config(self) -> dict:
        return {
            "resolution": self.resolution,
            "channels": self.channels,
            "latent_dim": self.latent_dim,
            "width": self.width,
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "gp_weight": self.gp_weight,
            "seed": self.seed,
            "architecture": self.architecture,
            "spectral_norm": self.spectral_norm,
            "fresh_critic_batches": self.fresh_critic_batches,
            "adam_betas": list(self.adam_betas),
            "lr_ratios": dict(self.lr_ratios),
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)
