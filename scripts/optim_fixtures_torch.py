"""PyTorch's own optimizers on a fixed toy problem, in float64: the reference values of
tests/optim_torch.rs (SGD with momentum, L2 weight decay and clip_grad_norm_; plain SGD;
RAdam; Adam; AdamW).

Two parameter tensors get fixed initial values; at each of 12 steps every parameter receives a
fixed gradient (drawn once from a seeded generator, scaled so that clipping to 1.0 engages at
some steps and not at others) and the learning rate of a small warmup-then-decay schedule. The
fixture holds the inputs and, per case, the parameters after every step, so lnwarm's optimizers
are checked update for update against torch.optim without torch installed in CI.

Usage: python3 scripts/optim_fixtures_torch.py tests/fixtures/torch-optim/optim.json
(needs `pip install torch`).
"""
import json
import sys

import torch

STEPS = 12
SHAPES = {"a": (3, 4), "b": (5,)}
LRS = [0.1 * min(1.0, (t + 1) / 4) * (0.9 ** max(0, t - 3)) for t in range(STEPS)]

CASES = [
    ("sgd-momentum-wd-clip", {"kind": "sgd", "momentum": 0.9, "weight_decay": 0.01, "clip": 1.0}),
    ("sgd-plain", {"kind": "sgd", "momentum": 0.0, "weight_decay": 0.0, "clip": None}),
    ("radam", {"kind": "radam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "clip": None}),
    ("radam-beta2-0.98-clip", {"kind": "radam", "beta1": 0.9, "beta2": 0.98, "eps": 1e-8, "clip": 1.0}),
    ("adam", {"kind": "adam", "beta1": 0.9, "beta2": 0.98, "eps": 1e-8, "clip": None}),
    ("adamw", {"kind": "adamw", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1, "clip": 0.5}),
]


def inputs():
    gen = torch.Generator().manual_seed(2026)
    init = {n: torch.randn(s, generator=gen, dtype=torch.float64) for n, s in SHAPES.items()}
    grads = []
    for t in range(STEPS):
        # Global norms between about 0.3 and 3: clip 1.0 engages at some steps only.
        scale = 0.15 + 0.7 * ((t * 7) % 5) / 4
        grads.append({n: scale * torch.randn(s, generator=gen, dtype=torch.float64) for n, s in SHAPES.items()})
    return init, grads


def optimizer(params, o):
    kind = o["kind"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=LRS[0], momentum=o["momentum"], weight_decay=o["weight_decay"])
    betas = (o["beta1"], o["beta2"])
    if kind == "radam":
        return torch.optim.RAdam(params, lr=LRS[0], betas=betas, eps=o["eps"])
    if kind == "adam":
        return torch.optim.Adam(params, lr=LRS[0], betas=betas, eps=o["eps"])
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=LRS[0], betas=betas, eps=o["eps"], weight_decay=o["weight_decay"])
    raise ValueError(kind)


def run(init, grads, o):
    params = {n: torch.nn.Parameter(v.clone()) for n, v in init.items()}
    opt = optimizer(list(params.values()), o)
    after = []
    for t in range(STEPS):
        for n, p in params.items():
            p.grad = grads[t][n].clone()
        if o["clip"] is not None:
            torch.nn.utils.clip_grad_norm_(list(params.values()), o["clip"])
        for group in opt.param_groups:
            group["lr"] = LRS[t]
        opt.step()
        after.append({n: p.detach().flatten().tolist() for n, p in params.items()})
    return after


def main(out):
    init, grads = inputs()
    fixture = {
        "torch_version": torch.__version__,
        "shapes": {n: list(s) for n, s in SHAPES.items()},
        "init": {n: v.flatten().tolist() for n, v in init.items()},
        "grads": [{n: g.flatten().tolist() for n, g in step.items()} for step in grads],
        "lrs": LRS,
        "cases": [{"name": name, "optim": o, "after": run(init, grads, o)} for name, o in CASES],
    }
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
