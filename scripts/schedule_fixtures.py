#!/usr/bin/env python3
"""Golden learning-rate fixtures from the peer libraries' own code.

For every case below this runs the peer's schedule (TensorFlow 1 `tf.compat.v1.train`, Keras 3,
PyTorch `torch.optim.lr_scheduler`, Hugging Face `transformers` schedules, optax, fairseq, and the
paper's Noam formula) and writes `tests/fixtures/schedules/<case>.csv`: header lines naming the
peer (with its version), the peer call, the lnwarm schedule JSON that should reproduce it, the run
length, then `update,lr` for updates 1..T, where `lr` is the rate the peer applies in update t
(the value at its step counter t - 1, read before the scheduler steps; Noam's step_num = t).
`cargo test --test schedule_fixtures` compares lnwarm with every file to 1e-6 relative.

It installs nothing. Needs: pip install tensorflow-cpu torch transformers optax
(fairseq 0.12 does not install on current Pythons: when `import fairseq` fails, its
InverseSquareRootLRSchedule.step_update is used as transcribed below, and the fixture says so).

Usage: python3 scripts/schedule_fixtures.py [--out tests/fixtures/schedules] [--only PREFIX]
"""

import argparse
import json
import math
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
T = 600  # updates per case
PEAK = 1e-3


def tf_cases():
    import tensorflow as tf

    v1 = tf.compat.v1.train
    lr64 = tf.constant(PEAK, dtype=tf.float64)  # float64 so the fixture is not f32-rounded
    lr32 = tf.constant(PEAK, dtype=tf.float32)
    lr = lr64

    def run(make):
        step = tf.Variable(0, dtype=tf.int64)
        f = make(step)
        out = []
        for n in range(T):
            step.assign(n)
            out.append(float(f().numpy()))
        return out

    def run_any(make):
        """float64 where TF allows it; its cosine family multiplies by a float32 pi and
        rejects float64, so those run in float32 (and the fixture says so)."""
        nonlocal lr
        try:
            lr = lr64
            return "", run(make)
        except (tf.errors.InvalidArgumentError, ValueError):
            lr = lr32
            return " float32", run(make)

    ver = f"tensorflow {tf.__version__}"
    cases = [
        ("exponential", "exponential_decay(lr, step, decay_steps=100, decay_rate=0.5)",
         lambda s: v1.exponential_decay(lr, s, 100, 0.5),
         {"decay": {"kind": "exponential", "decay_steps": 100, "decay_rate": 0.5}}),
        ("exponential-staircase", "exponential_decay(lr, step, 100, 0.5, staircase=True)",
         lambda s: v1.exponential_decay(lr, s, 100, 0.5, staircase=True),
         {"decay": {"kind": "exponential", "decay_steps": 100, "decay_rate": 0.5, "staircase": True}}),
        ("inverse-time", "inverse_time_decay(lr, step, decay_steps=50, decay_rate=0.5)",
         lambda s: v1.inverse_time_decay(lr, s, 50, 0.5),
         {"decay": {"kind": "inverse-time", "decay_steps": 50, "decay_rate": 0.5}}),
        ("inverse-time-staircase", "inverse_time_decay(lr, step, 50, 0.5, staircase=True)",
         lambda s: v1.inverse_time_decay(lr, s, 50, 0.5, staircase=True),
         {"decay": {"kind": "inverse-time", "decay_steps": 50, "decay_rate": 0.5, "staircase": True}}),
        ("natural-exp", "natural_exp_decay(lr, step, decay_steps=100, decay_rate=0.3)",
         lambda s: v1.natural_exp_decay(lr, s, 100, 0.3),
         {"decay": {"kind": "natural-exp", "decay_steps": 100, "decay_rate": 0.3}}),
        ("polynomial", "polynomial_decay(lr, step, decay_steps=400)  # end_learning_rate 1e-4",
         lambda s: v1.polynomial_decay(lr, s, 400),
         {"decay": {"kind": "polynomial", "decay_steps": 400, "end_lr": 1e-4}}),
        ("polynomial-cycle", "polynomial_decay(lr, step, 150, end_learning_rate=1e-5, power=2.0, cycle=True)",
         lambda s: v1.polynomial_decay(lr, s, 150, end_learning_rate=1e-5, power=2.0, cycle=True),
         {"decay": {"kind": "polynomial", "decay_steps": 150, "end_lr": 1e-5, "power": 2.0, "cycle": True}}),
        ("cosine", "cosine_decay(lr, step, decay_steps=500, alpha=0.1)",
         lambda s: v1.cosine_decay(lr, s, 500, alpha=0.1),
         {"decay": {"kind": "cosine", "decay_steps": 500, "alpha": 0.1}}),
        ("cosine-restarts", "cosine_decay_restarts(lr, step, 100, t_mul=2.0, m_mul=0.8, alpha=0.05)",
         lambda s: v1.cosine_decay_restarts(lr, s, 100, t_mul=2.0, m_mul=0.8, alpha=0.05),
         {"decay": {"kind": "cosine-restarts", "first_decay_steps": 100, "t_mul": 2.0, "m_mul": 0.8, "alpha": 0.05}}),
        ("linear-cosine", "linear_cosine_decay(lr, step, 500, num_periods=2.0, beta=0.001)",
         lambda s: v1.linear_cosine_decay(lr, s, 500, num_periods=2.0),
         {"decay": {"kind": "linear-cosine", "decay_steps": 500, "num_periods": 2.0}}),
        ("noisy-linear-cosine-no-noise", "noisy_linear_cosine_decay(lr, step, 500, initial_variance=0.0)",
         lambda s: v1.noisy_linear_cosine_decay(lr, s, 500, initial_variance=0.0),
         {"decay": {"kind": "noisy-linear-cosine", "decay_steps": 500, "initial_variance": 0.0}}),
        ("piecewise-constant", "piecewise_constant(step, [100, 300], [1e-3, 5e-4, 1e-4])",
         lambda s: v1.piecewise_constant(s, [tf.constant(100, tf.int64), tf.constant(300, tf.int64)],
                                         [tf.constant(v, tf.float64) for v in (1e-3, 5e-4, 1e-4)]),
         {"decay": {"kind": "piecewise-constant", "boundaries": [100, 300], "values": [1e-3, 5e-4, 1e-4]}}),
    ]
    for name, call, make, lnwarm in cases:
        precision, rates = run_any(make)
        yield f"tf1-{name}", ver + precision, f"tf.compat.v1.train.{call}", with_defaults(lnwarm, 0), rates


def keras_cases():
    import numpy as np
    import keras

    S = keras.optimizers.schedules
    f64 = np.float64
    ver = f"keras {keras.__version__}"
    cases = [
        ("cosine", "CosineDecay(1e-3, decay_steps=500, alpha=0.1)",
         S.CosineDecay(f64(PEAK), 500, alpha=0.1),
         {"decay": {"kind": "cosine", "decay_steps": 500, "alpha": 0.1}}),
        ("cosine-warmup", "CosineDecay(0.0, decay_steps=400, warmup_target=1e-3, warmup_steps=100)",
         S.CosineDecay(f64(0.0), 400, warmup_target=f64(PEAK), warmup_steps=100),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "cosine", "decay_steps": 400}}),
        ("cosine-warmup-from", "CosineDecay(1e-4, 450, alpha=0.1, warmup_target=1e-3, warmup_steps=50)",
         S.CosineDecay(f64(1e-4), 450, alpha=0.1, warmup_target=f64(PEAK), warmup_steps=50),
         {"warmup": {"kind": "linear", "steps": 50, "start_factor": 0.1},
          "decay": {"kind": "cosine", "decay_steps": 450, "alpha": 0.1}}),
        ("exponential-staircase", "ExponentialDecay(1e-3, 100, 0.9, staircase=True)",
         S.ExponentialDecay(f64(PEAK), 100, 0.9, staircase=True),
         {"decay": {"kind": "exponential", "decay_steps": 100, "decay_rate": 0.9, "staircase": True}}),
        ("polynomial", "PolynomialDecay(1e-3, 300, end_learning_rate=1e-5, power=0.5)",
         S.PolynomialDecay(f64(PEAK), 300, end_learning_rate=1e-5, power=0.5),
         {"decay": {"kind": "polynomial", "decay_steps": 300, "end_lr": 1e-5, "power": 0.5}}),
        ("inverse-time", "InverseTimeDecay(1e-3, 100, 1.0)",
         S.InverseTimeDecay(f64(PEAK), 100, 1.0),
         {"decay": {"kind": "inverse-time", "decay_steps": 100, "decay_rate": 1.0}}),
        ("piecewise-constant", "PiecewiseConstantDecay([200, 400], [1e-3, 3e-4, 1e-4])",
         S.PiecewiseConstantDecay([200, 400], [f64(1e-3), f64(3e-4), f64(1e-4)]),
         {"decay": {"kind": "piecewise-constant", "boundaries": [200, 400], "values": [1e-3, 3e-4, 1e-4]}}),
        ("cosine-restarts", "CosineDecayRestarts(1e-3, 50, t_mul=1.5, m_mul=0.9)",
         S.CosineDecayRestarts(f64(PEAK), 50, t_mul=1.5, m_mul=0.9),
         {"decay": {"kind": "cosine-restarts", "first_decay_steps": 50, "t_mul": 1.5, "m_mul": 0.9}}),
    ]
    for name, call, sched, lnwarm in cases:
        rates = [float(np.asarray(sched(n))) for n in range(T)]
        yield f"keras-{name}", ver, f"keras.optimizers.schedules.{call}", with_defaults(lnwarm, 0), rates


def torch_cases():
    import torch
    from torch.optim import lr_scheduler as L

    ver = f"torch {torch.__version__}"

    def run(make, metrics=None, every=20):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=PEAK)
        sched = make(opt)
        out = []
        for t in range(1, T + 1):
            out.append(float(opt.param_groups[0]["lr"]))
            opt.step()
            if metrics is None:
                sched.step()
            elif t % every == 0:
                sched.step(metrics[t // every - 1])
        return out

    w = 100
    cases = [
        ("linear-cosine-sequential",
         "SequentialLR(opt, [LinearLR(opt, start_factor=1e-3, total_iters=100), CosineAnnealingLR(opt, T_max=500, eta_min=1e-5)], milestones=[100])",
         lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=1e-3, total_iters=w),
                                      L.CosineAnnealingLR(o, T_max=T - w, eta_min=1e-5)], milestones=[w]),
         {"warmup": {"kind": "linear", "steps": 100, "start_factor": 1e-3},
          "decay": {"kind": "cosine", "alpha": 0.01}}),
        ("linear-exponential-sequential",
         "SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=50), ExponentialLR(opt, gamma=0.995)], milestones=[50])",
         lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=50),
                                      L.ExponentialLR(o, gamma=0.995)], milestones=[50]),
         {"warmup": {"kind": "linear", "steps": 50, "start_factor": 0.1},
          "decay": {"kind": "exponential", "decay_steps": 1, "decay_rate": 0.995}}),
        ("linear", "LinearLR(opt, start_factor=0.25, total_iters=200)",
         lambda o: L.LinearLR(o, start_factor=0.25, total_iters=200),
         {"warmup": {"kind": "linear", "steps": 200, "start_factor": 0.25}, "decay": {"kind": "constant"}}),
        ("constant", "ConstantLR(opt, factor=0.1, total_iters=100)",
         lambda o: L.ConstantLR(o, factor=0.1, total_iters=100),
         {"warmup": {"kind": "constant", "steps": 100, "start_factor": 0.1}, "decay": {"kind": "constant"}}),
        ("exponential", "ExponentialLR(opt, gamma=0.995)",
         lambda o: L.ExponentialLR(o, gamma=0.995),
         {"decay": {"kind": "exponential", "decay_steps": 1, "decay_rate": 0.995}}),
        ("step", "StepLR(opt, step_size=100, gamma=0.5)",
         lambda o: L.StepLR(o, step_size=100, gamma=0.5),
         {"decay": {"kind": "exponential", "decay_steps": 100, "decay_rate": 0.5, "staircase": True}}),
        ("multistep", "MultiStepLR(opt, milestones=[150, 400], gamma=0.1)",
         lambda o: L.MultiStepLR(o, milestones=[150, 400], gamma=0.1),
         {"decay": {"kind": "piecewise-constant", "boundaries": [149, 399], "values": [1e-3, 1e-4, 1e-5]}}),
        ("polynomial", "PolynomialLR(opt, total_iters=400, power=2.0)",
         lambda o: L.PolynomialLR(o, total_iters=400, power=2.0),
         {"decay": {"kind": "polynomial", "decay_steps": 400, "power": 2.0}}),
        ("cosine-annealing", "CosineAnnealingLR(opt, T_max=600)",
         lambda o: L.CosineAnnealingLR(o, T_max=T),
         {"decay": {"kind": "cosine"}}),
        ("cosine-warm-restarts", "CosineAnnealingWarmRestarts(opt, T_0=100, T_mult=2, eta_min=1e-5)",
         lambda o: L.CosineAnnealingWarmRestarts(o, T_0=100, T_mult=2, eta_min=1e-5),
         {"decay": {"kind": "cosine-restarts", "first_decay_steps": 100, "t_mul": 2.0, "alpha": 0.01}}),
        ("one-cycle", "OneCycleLR(opt, max_lr=1e-3, total_steps=600, cycle_momentum=False)",
         lambda o: L.OneCycleLR(o, max_lr=PEAK, total_steps=T, cycle_momentum=False),
         {"decay": {"kind": "one-cycle"}}),
        ("one-cycle-linear-three-phase",
         "OneCycleLR(opt, max_lr=1e-3, total_steps=600, pct_start=0.25, anneal_strategy='linear', three_phase=True, div_factor=10, cycle_momentum=False)",
         lambda o: L.OneCycleLR(o, max_lr=PEAK, total_steps=T, pct_start=0.25, anneal_strategy="linear",
                                three_phase=True, div_factor=10, cycle_momentum=False),
         {"decay": {"kind": "one-cycle", "pct_start": 0.25, "anneal_strategy": "linear",
                    "three_phase": True, "div_factor": 10.0}}),
        ("cyclic-triangular", "CyclicLR(opt, base_lr=1e-4, max_lr=1e-3, step_size_up=100, cycle_momentum=False)",
         lambda o: L.CyclicLR(o, base_lr=1e-4, max_lr=PEAK, step_size_up=100, cycle_momentum=False),
         {"decay": {"kind": "cyclic", "base_lr": 1e-4, "step_size_up": 100}}),
        ("cyclic-triangular2",
         "CyclicLR(opt, base_lr=1e-4, max_lr=1e-3, step_size_up=80, step_size_down=40, mode='triangular2', cycle_momentum=False)",
         lambda o: L.CyclicLR(o, base_lr=1e-4, max_lr=PEAK, step_size_up=80, step_size_down=40,
                              mode="triangular2", cycle_momentum=False),
         {"decay": {"kind": "cyclic", "base_lr": 1e-4, "step_size_up": 80, "step_size_down": 40,
                    "mode": "triangular2"}}),
        ("cyclic-exp-range",
         "CyclicLR(opt, base_lr=1e-4, max_lr=1e-3, step_size_up=50, mode='exp_range', gamma=0.998, cycle_momentum=False)",
         lambda o: L.CyclicLR(o, base_lr=1e-4, max_lr=PEAK, step_size_up=50, mode="exp_range",
                              gamma=0.998, cycle_momentum=False),
         {"decay": {"kind": "cyclic", "base_lr": 1e-4, "step_size_up": 50, "mode": "exp_range",
                    "gamma": 0.998}}),
    ]
    for name, call, make, lnwarm in cases:
        yield f"torch-{name}", ver, f"torch.optim.lr_scheduler.{call}", with_defaults(lnwarm, 0), run(make)
    # ReduceLROnPlateau: stepped with a fixed validation-loss sequence, one value every 20 updates.
    metrics = plateau_metrics()
    plateau = [
        ("plateau", "ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=1e-3)",
         dict(factor=0.5, patience=2, threshold=1e-3),
         {"factor": 0.5, "patience": 2, "threshold": 1e-3}),
        ("plateau-abs-cooldown",
         "ReduceLROnPlateau(opt, factor=0.3, patience=1, threshold=0.01, threshold_mode='abs', cooldown=2, min_lr=2e-5)",
         dict(factor=0.3, patience=1, threshold=0.01, threshold_mode="abs", cooldown=2, min_lr=2e-5),
         {"factor": 0.3, "patience": 1, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 2,
          "min_lr": 2e-5}),
    ]
    for name, call, kwargs, rule in plateau:
        rates = run(lambda o: L.ReduceLROnPlateau(o, **kwargs), metrics)
        lnwarm = with_defaults({"decay": dict(kind="reduce-on-plateau", **rule)}, 0)
        yield (f"torch-{name}", ver, f"torch.optim.lr_scheduler.{call}; .step(val_loss) every 20 updates",
               lnwarm, rates, metrics)


def plateau_metrics():
    """A validation-loss curve that improves, stalls, improves a little, and stalls again."""
    out, loss = [], 3.0
    for i in range(T // 20):
        if i < 6 or 12 <= i < 15:
            loss *= 0.9
        elif i == 20:
            loss *= 0.995
        out.append(round(loss + 0.002 * ((i * 7) % 3), 6))
    return out


def hf_cases():
    import torch
    import transformers
    from transformers import optimization as O

    ver = f"transformers {transformers.__version__}"

    def run(make):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=PEAK)
        sched = make(opt)
        out = []
        for _ in range(T):
            out.append(float(opt.param_groups[0]["lr"]))
            opt.step()
            sched.step()
        return out

    cases = [
        ("linear", "get_linear_schedule_with_warmup(opt, 100, 600)",
         lambda o: O.get_linear_schedule_with_warmup(o, 100, T),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "linear"}}),
        ("cosine", "get_cosine_schedule_with_warmup(opt, 100, 600)",
         lambda o: O.get_cosine_schedule_with_warmup(o, 100, T),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "cosine"}}),
        ("cosine-1.5-cycles", "get_cosine_schedule_with_warmup(opt, 50, 600, num_cycles=1.5)",
         lambda o: O.get_cosine_schedule_with_warmup(o, 50, T, num_cycles=1.5),
         {"warmup": {"kind": "linear", "steps": 50}, "decay": {"kind": "cosine", "num_cycles": 1.5}}),
        ("cosine-hard-restarts", "get_cosine_with_hard_restarts_schedule_with_warmup(opt, 60, 600, num_cycles=3)",
         lambda o: O.get_cosine_with_hard_restarts_schedule_with_warmup(o, 60, T, num_cycles=3),
         {"warmup": {"kind": "linear", "steps": 60}, "decay": {"kind": "cosine-hard-restarts", "num_cycles": 3.0}}),
        ("cosine-hard-restarts-fractional",
         "get_cosine_with_hard_restarts_schedule_with_warmup(opt, 60, 600, num_cycles=7)  # period 77.14",
         lambda o: O.get_cosine_with_hard_restarts_schedule_with_warmup(o, 60, T, num_cycles=7),
         {"warmup": {"kind": "linear", "steps": 60}, "decay": {"kind": "cosine-hard-restarts", "num_cycles": 7.0}}),
        ("polynomial", "get_polynomial_decay_schedule_with_warmup(opt, 100, 600, lr_end=1e-5, power=2.0)",
         lambda o: O.get_polynomial_decay_schedule_with_warmup(o, 100, T, lr_end=1e-5, power=2.0),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "polynomial", "end_lr": 1e-5, "power": 2.0}}),
        ("inverse-sqrt", "get_inverse_sqrt_schedule(opt, num_warmup_steps=100)",
         lambda o: O.get_inverse_sqrt_schedule(o, 100),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "inverse-sqrt"}}),
        ("inverse-sqrt-timescale", "get_inverse_sqrt_schedule(opt, num_warmup_steps=100, timescale=300)",
         lambda o: O.get_inverse_sqrt_schedule(o, 100, timescale=300),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "inverse-sqrt", "timescale": 300}}),
        ("constant-with-warmup", "get_constant_schedule_with_warmup(opt, 100)",
         lambda o: O.get_constant_schedule_with_warmup(o, 100),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "constant"}}),
        ("wsd", "get_wsd_schedule(opt, 50, 150, num_training_steps=600)  # decay_type cosine",
         lambda o: O.get_wsd_schedule(o, 50, 150, num_training_steps=T),
         {"warmup": {"kind": "linear", "steps": 50},
          "decay": {"kind": "warmup-stable-decay", "decay_steps": 150, "shape": "cosine"}}),
        ("wsd-cosine-warmup-1-sqrt",
         "get_wsd_schedule(opt, 50, 120, num_training_steps=600, warmup_type='cosine', decay_type='1-sqrt', min_lr_ratio=0.1)",
         lambda o: O.get_wsd_schedule(o, 50, 120, num_training_steps=T, warmup_type="cosine",
                                      decay_type="1-sqrt", min_lr_ratio=0.1),
         {"warmup": {"kind": "cosine", "steps": 50, "start_factor": 0.1},
          "decay": {"kind": "warmup-stable-decay", "decay_steps": 120, "shape": "1-sqrt", "min_lr_ratio": 0.1}}),
        ("wsd-1-sqrt-warmup-linear", "get_wsd_schedule(opt, 80, 100, num_training_steps=600, warmup_type='1-sqrt', decay_type='linear')",
         lambda o: O.get_wsd_schedule(o, 80, 100, num_training_steps=T, warmup_type="1-sqrt", decay_type="linear"),
         {"warmup": {"kind": "1-sqrt", "steps": 80},
          "decay": {"kind": "warmup-stable-decay", "decay_steps": 100, "shape": "linear"}}),
        ("wsd-ends-early", "get_wsd_schedule(opt, 50, 150, num_stable_steps=200, min_lr_ratio=0.05)",
         lambda o: O.get_wsd_schedule(o, 50, 150, num_stable_steps=200, min_lr_ratio=0.05),
         {"warmup": {"kind": "linear", "steps": 50, "start_factor": 0.05},
          "decay": {"kind": "warmup-stable-decay", "decay_steps": 150, "stable_steps": 200,
                    "shape": "cosine", "min_lr_ratio": 0.05}}),
    ]
    for name, call, make, lnwarm in cases:
        yield f"hf-{name}", ver, f"transformers.{call}", with_defaults(lnwarm, 0), run(make)


def optax_cases():
    import jax

    jax.config.update("jax_enable_x64", True)  # float64, so the fixture is not f32-rounded
    import optax

    ver = f"optax {optax.__version__}"
    S = optax.schedules
    cases = [
        ("warmup-cosine", "warmup_cosine_decay_schedule(0.0, 1e-3, warmup_steps=100, decay_steps=600, end_value=1e-5)",
         S.warmup_cosine_decay_schedule(0.0, PEAK, 100, T, end_value=1e-5),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "cosine", "decay_steps": 500, "alpha": 0.01}}),
        ("warmup-cosine-exponent", "warmup_cosine_decay_schedule(1e-5, 1e-3, 50, 500, end_value=0.0, exponent=2.0)",
         S.warmup_cosine_decay_schedule(1e-5, PEAK, 50, 500, end_value=0.0, exponent=2.0),
         {"warmup": {"kind": "linear", "steps": 50, "start_factor": 0.01},
          "decay": {"kind": "cosine", "decay_steps": 450, "exponent": 2.0}}),
        ("warmup-exponential",
         "warmup_exponential_decay_schedule(1e-5, 1e-3, 50, transition_steps=100, decay_rate=0.5, transition_begin=50, end_value=2e-4)",
         S.warmup_exponential_decay_schedule(1e-5, PEAK, 50, 100, 0.5, transition_begin=50, end_value=2e-4),
         {"warmup": {"kind": "linear", "steps": 50, "start_factor": 0.01, "hold": 50},
          "decay": {"kind": "exponential", "decay_steps": 100, "decay_rate": 0.5, "end_value": 2e-4}}),
        ("exponential-transition-begin", "exponential_decay(1e-3, transition_steps=1, decay_rate=0.99, transition_begin=100)",
         S.exponential_decay(PEAK, 1, 0.99, transition_begin=100),
         {"warmup": {"kind": "none", "hold": 100},
          "decay": {"kind": "exponential", "decay_steps": 1, "decay_rate": 0.99}}),
        ("exponential-staircase-floor", "exponential_decay(1e-3, 60, 0.5, staircase=True, end_value=1e-4)",
         S.exponential_decay(PEAK, 60, 0.5, staircase=True, end_value=1e-4),
         {"decay": {"kind": "exponential", "decay_steps": 60, "decay_rate": 0.5, "staircase": True, "end_value": 1e-4}}),
        ("polynomial-increasing", "polynomial_schedule(init_value=1e-4, end_value=1e-3, power=2, transition_steps=300)",
         S.polynomial_schedule(1e-4, PEAK, 2, 300),
         {"peak_lr": 1e-4, "decay": {"kind": "polynomial", "decay_steps": 300, "end_lr": 1e-3, "power": 2.0}}),
        ("join-constant-cosine", "join_schedules([constant_schedule(1e-4), cosine_decay_schedule(1e-3, 500)], [100])",
         S.join_schedules([S.constant_schedule(1e-4), S.cosine_decay_schedule(PEAK, 500)], [100]),
         {"warmup": {"kind": "constant", "steps": 100, "start_factor": 0.1},
          "decay": {"kind": "cosine", "decay_steps": 500}}),
        ("linear-warmup", "linear_schedule(0.0, 1e-3, transition_steps=100)",
         S.linear_schedule(0.0, PEAK, 100),
         {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "constant"}}),
        ("sgdr-cycle-warmup",
         "sgdr_schedule([dict(init_value=1e-5, peak_value=1e-3, warmup_steps=20, decay_steps=150, end_value=1e-5)] * 4)",
         S.sgdr_schedule([dict(init_value=1e-5, peak_value=PEAK, warmup_steps=20, decay_steps=150,
                               end_value=1e-5)] * 4),
         {"decay": {"kind": "cosine-restarts", "first_decay_steps": 150, "t_mul": 1.0, "alpha": 0.01,
                    "cycle_warmup": 20, "cycle_warmup_start_factor": 0.01}}),
        ("cosine", "cosine_decay_schedule(1e-3, decay_steps=400, alpha=0.05)",
         S.cosine_decay_schedule(PEAK, 400, alpha=0.05),
         {"decay": {"kind": "cosine", "decay_steps": 400, "alpha": 0.05}}),
    ]
    for name, call, sched, lnwarm in cases:
        rates = [float(sched(n)) for n in range(T)]
        yield f"optax-{name}", ver, f"optax.schedules.{call}", with_defaults(lnwarm, 0), rates


def fairseq_inverse_sqrt(lr, warmup_updates, warmup_init_lr):
    """fairseq's InverseSquareRootLRSchedule: the rate of update t is what step_update(t - 1)
    set (the constructor sets warmup_init_lr, which equals step_update(0))."""
    try:
        from fairseq.optim.lr_scheduler.inverse_square_root_schedule import (
            InverseSquareRootLRSchedule, InverseSquareRootLRScheduleConfig)
        import fairseq

        class Opt:
            def set_lr(self, v):
                self.lr = v

        cfg = InverseSquareRootLRScheduleConfig(warmup_updates=warmup_updates,
                                                warmup_init_lr=warmup_init_lr, lr=[lr])
        sched = InverseSquareRootLRSchedule(cfg, Opt())
        rates = [sched.step_update(n) for n in range(T)]
        return f"fairseq {fairseq.__version__}", rates
    except ImportError:
        # Transcribed from fairseq 0.12.2 fairseq/optim/lr_scheduler/inverse_square_root_schedule.py.
        if warmup_init_lr < 0:
            warmup_init_lr = 0 if warmup_updates > 0 else lr
        lr_step = (lr - warmup_init_lr) / warmup_updates
        decay_factor = lr * warmup_updates**0.5
        rates = [warmup_init_lr + n * lr_step if n < warmup_updates else decay_factor * n**-0.5
                 for n in range(T)]
        return "fairseq 0.12.2 (step_update transcribed: fairseq does not import here)", rates


def fairseq_cases():
    for name, w, init, lnwarm in [
        ("inverse-sqrt", 100, -1, {"warmup": {"kind": "linear", "steps": 100}, "decay": {"kind": "inverse-sqrt"}}),
        ("inverse-sqrt-init", 40, 1e-7,
         {"warmup": {"kind": "linear", "steps": 40, "start_factor": 1e-4}, "decay": {"kind": "inverse-sqrt"}}),
        ("inverse-sqrt-long-warmup", 400, -1, {"warmup": {"kind": "linear", "steps": 400}, "decay": {"kind": "inverse-sqrt"}}),
    ]:
        ver, rates = fairseq_inverse_sqrt(PEAK, w, init)
        call = f"lr_scheduler=inverse_sqrt, lr=[1e-3], warmup_updates={w}, warmup_init_lr={init}"
        yield f"fairseq-{name}", ver, call, with_defaults(lnwarm, 0), rates


def paper_cases():
    """Vaswani et al. 2017, eq. (3): d_model^-0.5 * min(step_num^-0.5, step_num * warmup^-1.5),
    step_num = 1 in the first update."""
    for name, d, w, factor in [("noam-512", 512, 4000, 1.0), ("noam-64", 64, 100, 2.0)]:
        rates = [factor * d**-0.5 * min(t**-0.5, t * w**-1.5) for t in range(1, T + 1)]
        lnwarm = with_defaults({"warmup": {"kind": "linear", "steps": w},
                                "decay": {"kind": "noam", "d_model": d, "factor": factor}}, 1)
        yield (f"paper-{name}", "Vaswani et al. 2017, eq. (3)",
               f"{factor} * {d}**-0.5 * min(step_num**-0.5, step_num * {w}**-1.5), step_num = t", lnwarm, rates)


def with_defaults(lnwarm, origin):
    cfg = {"peak_lr": PEAK, "step_origin": origin, "warmup": {"kind": "none"}}
    cfg.update(lnwarm)
    return cfg


def write(out_dir, name, peer, call, lnwarm, rates, metrics=None):
    path = os.path.join(out_dir, f"{name}.csv")
    with open(path + ".tmp", "w") as f:
        f.write(f"# peer: {peer}\n# call: {call}\n# lnwarm: {json.dumps(lnwarm)}\n# steps: {len(rates)}\n")
        if metrics is not None:
            f.write(f"# val_loss_every: 20\n# val_loss: {json.dumps(metrics)}\n")
        f.write("update,lr\n")
        for t, lr in enumerate(rates, start=1):
            assert math.isfinite(lr), (name, t, lr)
            f.write(f"{t},{lr!r}\n")
    os.replace(path + ".tmp", path)


SOURCES = {"tf1": tf_cases, "keras": keras_cases, "torch": torch_cases, "hf": hf_cases,
           "optax": optax_cases, "fairseq": fairseq_cases, "paper": paper_cases}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "schedules"))
    ap.add_argument("--only", default="", help="only cases whose name starts with this")
    ap.add_argument("--lib", choices=sorted(SOURCES), help="one library only (run in its own process)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.lib is None:
        # TensorFlow and jax each register LLVM options: one process per library.
        for lib in SOURCES:
            if args.only and not (args.only.startswith(lib) or lib.startswith(args.only)):
                continue
            subprocess.run([sys.executable, __file__, "--lib", lib, "--out", args.out, "--only", args.only],
                           check=True)
        return 0
    count = 0
    for case in SOURCES[args.lib]():
        if case[0].startswith(args.only):
            write(args.out, *case)
            count += 1
    print(f"{args.lib}: {count} fixtures ({case[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
