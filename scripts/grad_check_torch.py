#!/usr/bin/env python3
"""Cross-check lnwarm's gradients against an independent PyTorch implementation.

Usage:
    lnwarm grad-init --layers 6 --seeds 1 --batches 1 --export /tmp/gradcheck
    python3 scripts/grad_check_torch.py /tmp/gradcheck [TOL]
    python3 scripts/grad_check_torch.py DIR --fixture   # also write DIR/ARCH-torch.json (float64)

The golden fixture of the tests (tests/fixtures/torch-golden/, read by tests/torch_golden.rs so
that every CI run compares lnwarm with PyTorch without installing torch) is made with:
    lnwarm grad-init --layers 2 --d-model 16 --heads 2 --d-ff 32 --seq-len 8 --batch-size 2 \
        --seeds 1 --batches 1 --threads 1 --export tests/fixtures/torch-golden --out /tmp/gi.json
    lnwarm grad-init --layers 2 --d-model 16 --heads 2 --d-ff 32 --seq-len 8 --batch-size 2 \
        --seeds 1 --batches 1 --threads 1 --qk-norm --z-loss 0.01 \
        --export tests/fixtures/torch-golden --out /tmp/gi-qk.json
    python3 scripts/grad_check_torch.py tests/fixtures/torch-golden --fixture
(the second writes post-ln-qk-norm-z-loss-* and pre-ln-qk-norm-z-loss-*: QK-LayerNorm and
z-loss, Wortsman et al. 2023, against the same independent equations; the QK gains start at 1,
so the export's weights are perturbed nowhere: the gradients of q_norm/k_norm are still checked.)

For each architecture exported into the folder, it rebuilds the same model in PyTorch (same
equations as src/model/: fairseq sinusoids, sqrt(d) embedding scale, biased-variance LayerNorm,
no key bias, tied output projection), loads lnwarm's initial weights and batch from the
safetensors files, runs one forward/backward in float32 and compares the loss and every
parameter's gradient Frobenius norm with lnwarm's. Exits 1 if any relative difference exceeds
the tolerance (default 1e-3). Needs `pip install torch safetensors`.
"""
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file


def sinusoids(seq, d):
    half = d // 2
    step = math.log(10000.0) / (max(half, 2) - 1)
    freqs = torch.exp(-torch.arange(half, dtype=torch.float64) * step)
    angles = torch.arange(seq, dtype=torch.float64)[:, None] * freqs[None, :]
    out = torch.zeros(seq, d, dtype=torch.float64)
    out[:, :half] = torch.sin(angles)
    out[:, half : 2 * half] = torch.cos(angles)
    return out


def layer_norm(x, p, name, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    out = (x - mean) / torch.sqrt(var + eps) * p[f"{name}.weight"]
    bias = p.get(f"{name}.bias")
    return out if bias is None else out + bias


def linear(x, p, name):
    y = x @ p[f"{name}.weight"].T
    bias = p.get(f"{name}.bias")
    return y if bias is None else y + bias


def attention(x, p, name, heads, batch, seq, qk_eps=None):
    """Causal attention; with qk_eps (--qk-norm), each head's queries and keys pass a
    LayerNorm over head_dim (q_norm with a bias, k_norm without: the key projection has none)."""
    d = x.shape[-1]
    hd = d // heads

    def split(t):
        return t.reshape(batch, seq, heads, hd).transpose(1, 2)

    q, k, v = (linear(x, p, f"{name}.{m}") for m in ("q", "k", "v"))
    if qk_eps is not None:
        q = layer_norm(q.reshape(-1, heads, hd), p, f"{name}.q_norm", qk_eps).reshape(-1, d)
        k = layer_norm(k.reshape(-1, heads, hd), p, f"{name}.k_norm", qk_eps).reshape(-1, d)
    q, k, v = split(q), split(k), split(v)
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    mask = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    ctx = torch.softmax(scores, -1) @ v
    return linear(ctx.transpose(1, 2).reshape(batch * seq, d), p, f"{name}.out")


def ffn(x, p, name, activation):
    h = linear(x, p, f"{name}.w1")
    h = F.relu(h) if activation == "relu" else F.gelu(h, approximate="tanh")
    return linear(h, p, f"{name}.w2")


def loss_of(p, cfg, ids, targets):
    batch, seq = ids.shape
    d, eps = cfg["d_model"], cfg["ln_eps"]
    x = p["tok_emb.weight"][ids.reshape(-1)]
    if cfg["emb_scale"]:
        x = x * math.sqrt(d)
    pos = p["pos_emb.weight"][:seq] if cfg["positions"] == "learned" else sinusoids(seq, d).to(x.dtype)
    x = (x.reshape(batch, seq, d) + pos).reshape(batch * seq, d)
    qk_eps = eps if cfg.get("qk_norm") else None
    for l in range(cfg["n_layers"]):
        b = f"blocks.{l}"
        attend = lambda h: attention(h, p, f"{b}.attn", cfg["n_heads"], batch, seq, qk_eps)  # noqa: E731
        if cfg["arch"] == "post-ln":
            x = layer_norm(x + attend(x), p, f"{b}.ln_attn", eps)
            x = layer_norm(x + ffn(x, p, f"{b}.ffn", cfg["activation"]), p, f"{b}.ln_ffn", eps)
        else:
            x = x + attend(layer_norm(x, p, f"{b}.ln_attn", eps))
            x = x + ffn(layer_norm(x, p, f"{b}.ln_ffn", eps), p, f"{b}.ffn", cfg["activation"])
    if cfg["arch"] == "pre-ln":
        x = layer_norm(x, p, "final_ln", eps)
    head = p["tok_emb.weight"] if cfg["tie_embeddings"] else p["head.weight"]
    logits = x @ head.T
    loss = F.cross_entropy(logits, targets.reshape(-1))
    if cfg.get("z_loss") is not None:
        # PaLM's z-loss: C * mean over positions of (log Z)^2, log Z = logsumexp of the logits.
        loss = loss + cfg["z_loss"] * (torch.logsumexp(logits, -1) ** 2).mean()
    return loss


def torch_numbers(folder, arch, dtype):
    """PyTorch's loss and per-parameter gradient norms on lnwarm's exported weights and batch."""
    exported = json.loads((folder / f"{arch}-grads.json").read_text())
    params = {k: v.to(dtype).requires_grad_(True) for k, v in load_file(folder / f"{arch}-weights.safetensors").items()}
    data = load_file(folder / f"{arch}-batch.safetensors")
    ids, targets = data["ids"].long(), data["targets"].long()
    loss = loss_of(params, exported["model"], ids, targets)
    loss.backward()
    return exported, params, loss


def perturb_norms(folder, arch, generator):
    """Every norm's gain to 1 + 0.3 N(0,1) and bias to 0.1 N(0,1) (float32, so exact in both
    implementations): at initialisation they are 1 and 0, where a gain or bias that one side
    forgets to apply would go unseen. Rewrites ARCH-weights.safetensors."""
    path = folder / f"{arch}-weights.safetensors"
    weights = load_file(path)
    for name, w in weights.items():
        if ".ln" in name or "_ln." in name or "_norm." in name or name.startswith("ln"):
            scale, shift = (0.3, 1.0) if name.endswith(".weight") else (0.1, 0.0)
            noise = torch.randn(w.shape, generator=generator, dtype=torch.float64)
            weights[name] = (shift + scale * noise).to(torch.float32)
    save_file(weights, path)


def write_fixture(folder, arch):
    """ARCH-torch.json: PyTorch's float64 loss and gradient norms (the weights are lnwarm's f32
    values, exactly representable in float64, so both sides compute on identical inputs)."""
    exported, params, loss = torch_numbers(folder, arch, torch.float64)
    fixture = {
        "arch": arch,
        "model": exported["model"],
        "dtype": "f64",
        "torch_version": torch.__version__,
        "loss": loss.item(),
        "grad_norms": {name: params[name].grad.norm().item() for name in sorted(exported["grad_norms"])},
    }
    (folder / f"{arch}-torch.json").write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")
    print(f"{arch}: wrote {folder / f'{arch}-torch.json'} (loss {loss.item():.12f})")


def check(folder, arch, tol):
    exported, params, loss = torch_numbers(folder, arch, torch.float32)
    worst, worst_name = 0.0, None
    for name, theirs in exported["grad_norms"].items():
        ours = params[name].grad.norm().item()
        rel = abs(ours - theirs) / max(abs(theirs), 1e-12)
        if rel > worst:
            worst, worst_name = rel, name
    loss_rel = abs(loss.item() - exported["loss"]) / exported["loss"]
    print(
        f"{arch}: {len(exported['grad_norms'])} parameters, loss torch {loss.item():.6f} vs lnwarm {exported['loss']:.6f} "
        f"(rel {loss_rel:.2e}); max relative difference of gradient norms {worst:.2e} ({worst_name})"
    )
    return worst <= tol and loss_rel <= tol


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    folder = Path(sys.argv[1])
    fixture = "--fixture" in sys.argv[2:]
    rest = [a for a in sys.argv[2:] if a != "--fixture"]
    tol = float(rest[0]) if rest else 1e-3
    archs = sorted(p.name[: -len("-grads.json")] for p in folder.glob("*-grads.json"))
    if not archs:
        print(f"error: no *-grads.json in {folder}; run lnwarm grad-init --export {folder}", file=sys.stderr)
        return 2
    ok = all([check(folder, arch, tol) for arch in archs])
    print("OK" if ok else f"FAIL: a difference exceeds {tol}")
    if ok and fixture:
        # Only after lnwarm's own export agreed: perturb the norms, write PyTorch's float64
        # numbers on the perturbed weights, and drop lnwarm's ARCH-grads.json (they describe
        # the unperturbed weights; tests/torch_golden.rs reads ARCH-torch.json only).
        generator = torch.Generator().manual_seed(0)
        for arch in archs:
            perturb_norms(folder, arch, generator)
            write_fixture(folder, arch)
            (folder / f"{arch}-grads.json").unlink()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
