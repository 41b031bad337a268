#!/usr/bin/env python3
"""Time the same model and update in PyTorch eager on the CPU, for a side-by-side with `lnwarm bench`.

Usage: python3 scripts/bench_torch.py [--config configs/cpu-small.json] [--arch pre-ln] [--steps 10]
       [--warmup-steps 3] [--threads N] [--vocab 81] [--out results/bench-torch-ARCH.json]

The model is scripts/grad_check_torch.py's (the same equations as lnwarm's src/model/, explicit
attention with a masked softmax, no fused kernels), Xavier-initialised, trained with Adam
(0.9, 0.98, eps 1e-8) on random token ids (the data does not change the speed). The FLOP count
is lnwarm's (6 x matmul parameters x tokens + 12 L B T^2 d). Needs `pip install torch safetensors`.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grad_check_torch import loss_of  # noqa: E402


def model_config(run, arch):
    m = {"arch": "pre-ln", "n_layers": 6, "d_model": 128, "n_heads": 4, "d_ff": 512, "activation": "relu",
         "positions": "sinusoidal", "emb_scale": True, "tie_embeddings": True, "ln_eps": 1e-5}
    m.update(run.get("model", {}))
    if arch:
        m["arch"] = arch
    return m


def init_params(m, vocab, seq):
    d, f = m["d_model"], m["d_ff"]
    p = {}

    def xavier(name, out_dim, in_dim):
        bound = math.sqrt(6.0 / (in_dim + out_dim))
        p[name] = torch.empty(out_dim, in_dim).uniform_(-bound, bound)

    p["tok_emb.weight"] = torch.randn(vocab, d) * d ** -0.5
    if m["positions"] == "learned":
        p["pos_emb.weight"] = torch.randn(seq, d) * 0.02
    for l in range(m["n_layers"]):
        b = f"blocks.{l}"
        for name in ("q", "k", "v", "out"):
            xavier(f"{b}.attn.{name}.weight", d, d)
            if name != "k":
                p[f"{b}.attn.{name}.bias"] = torch.zeros(d)
        xavier(f"{b}.ffn.w1.weight", f, d)
        p[f"{b}.ffn.w1.bias"] = torch.zeros(f)
        xavier(f"{b}.ffn.w2.weight", d, f)
        p[f"{b}.ffn.w2.bias"] = torch.zeros(d)
        for ln in ("ln_attn", "ln_ffn"):
            p[f"{b}.{ln}.weight"] = torch.ones(d)
            p[f"{b}.{ln}.bias"] = torch.zeros(d)
    if m["arch"] == "pre-ln":
        p["final_ln.weight"] = torch.ones(d)
        p["final_ln.bias"] = torch.zeros(d)
    if not m["tie_embeddings"]:
        xavier("head.weight", vocab, d)
    return {k: v.requires_grad_(True) for k, v in p.items()}


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "mean": statistics.fmean(values)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/cpu-small.json")
    ap.add_argument("--arch", default=None)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--vocab", type=int, default=81)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    run = json.loads(Path(args.config).read_text())
    m = model_config(run, args.arch)
    data = {"seq_len": 128, "batch_size": 32}
    data.update({k: v for k, v in run.get("data", {}).items() if k in data})
    seq, batch = data["seq_len"], data["batch_size"]
    params = init_params(m, args.vocab, seq)
    opt = torch.optim.Adam(params.values(), lr=1e-4, betas=(0.9, 0.98), eps=1e-8)
    matmul_params = sum(v.numel() for k, v in params.items() if v.dim() == 2 and k != "pos_emb.weight")
    flop = 6 * matmul_params * batch * seq + 12 * m["n_layers"] * batch * seq * seq * m["d_model"]
    times = []
    for i in range(args.warmup_steps + args.steps):
        ids = torch.randint(0, args.vocab, (batch, seq))
        targets = torch.randint(0, args.vocab, (batch, seq))
        t0 = time.perf_counter()
        loss = loss_of(params, m, ids, targets)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        norms = torch.stack([p.grad.norm() for p in params.values()])
        norms.sum().item()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        if i >= args.warmup_steps:
            times.append([(t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, (t4 - t3) * 1e3, (t4 - t0) * 1e3])
    cols = list(zip(*times))
    total = spread(cols[4])
    tokens = batch * seq
    result = {
        "kind": "bench-torch",
        "torch_version": torch.__version__,
        "model": m,
        "threads": torch.get_num_threads(),
        "timed_steps": args.steps,
        "tokens_per_step": tokens,
        "flop_per_step": flop,
        "tokens_per_s": spread([tokens / (t / 1e3) for t in cols[4]]),
        "ms": {"forward": spread(cols[0]), "backward": spread(cols[1]), "grad_norms": spread(cols[2]),
               "optimizer": spread(cols[3]), "total": total},
        "gflop_per_s": flop / (total["median"] / 1e3) / 1e9,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(f"torch bench: {m['arch']} L={m['n_layers']} d={m['d_model']} T={seq} B={batch}, {result['threads']} threads, torch {torch.__version__}")
    print(f"tokens/s: median {result['tokens_per_s']['median']:.0f} (min {result['tokens_per_s']['min']:.0f}, max {result['tokens_per_s']['max']:.0f})")
    for phase in ("forward", "backward", "grad_norms", "optimizer", "total"):
        s = result["ms"][phase]
        print(f"  {phase:<12} {s['median']:>9.2f} {s['min']:>9.2f} {s['max']:>9.2f} ms")
    print(f"achieved: {result['gflop_per_s']:.1f} GFLOP/s; peak memory {result['peak_rss_mib']:.0f} MiB RSS")
    out = Path(args.out or f"results/bench-torch-{m['arch']}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
