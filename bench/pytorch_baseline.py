"""Eager-PyTorch baseline of the recipe `resnet-bench` times: the same CIFAR ResNet-18, GPU-resident
uint8 data with per-batch random crop (pad 4) and flip on the GPU, fp16 autocast, channels_last,
Nesterov SGD (PyTorch's default multi-tensor "foreach" update) with a warmup-then-linear-decay
schedule and label smoothing, batch 512 (full batches only), evaluation in batches of 1000.

Usage: python bench/pytorch_baseline.py DATA_DIR [--epochs 5] [--lr 0.2] [--runs 3] [--compare bench.json]

With --compare (the JSON `resnet-bench` wrote in the same session on the same GPU) it prints the
ratio of the median steady throughputs, tch / PyTorch.
"""
import json
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "parity"))
from notebook_resnet import BasicBlock, ResNet  # noqa: E402

MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
STD = torch.tensor([0.2023, 0.1994, 0.2010]).view(1, 3, 1, 1)


def load(folder, names):
    raw = np.concatenate([np.fromfile(os.path.join(folder, n), dtype=np.uint8).reshape(-1, 3073) for n in names])
    return torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).copy()), torch.from_numpy(raw[:, 0].astype(np.int64))


def main():
    born = time.time() - (time.time() - os.stat(f"/proc/{os.getpid()}").st_ctime)
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--eval-batch", type=int, default=1000)
    p.add_argument("--compare", help="resnet-bench JSON to compare with")
    p.add_argument("--out", help="write the runs as JSON here")
    a = p.parse_args()
    dev = torch.device("cuda")
    xtr, ytr = load(a.data, [f"data_batch_{i}.bin" for i in range(1, 6)])
    xte, yte = load(a.data, ["test_batch.bin"])
    xtr, ytr, xte, yte = xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev)
    mean, std = MEAN.to(dev), STD.to(dev)
    print(f"data on the GPU {time.time() - born:.2f} s after process start", flush=True)
    n = len(ytr)
    results = []
    for seed in range(a.runs):
        torch.manual_seed(seed)
        model = ResNet(BasicBlock, [2, 2, 2, 2]).to(dev).to(memory_format=torch.channels_last)
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
        steps = max(1, n // a.batch)
        total, warm = steps * a.epochs, max(1, round(steps * a.epochs * 0.2))
        lr_at = lambda s: a.lr * (s + 1) / warm if s < warm else a.lr * (total - s) / max(1, total - warm)
        step, times, t75 = 0, [], None
        for epoch in range(a.epochs):
            model.train()
            t = time.time()
            order = torch.randperm(n, device=dev)
            for i in range(steps):
                idx = order[i * a.batch:(i + 1) * a.batch]
                x = F.pad(xtr[idx], (4, 4, 4, 4))
                b = len(idx)
                dy = torch.randint(0, 9, (b, 1, 1, 1), device=dev)
                dx = torch.randint(0, 9, (b, 1, 1, 1), device=dev)
                rows = torch.arange(32, device=dev).view(1, 1, 32, 1) + dy
                cols = torch.arange(32, device=dev).view(1, 1, 1, 32) + dx
                x = x[torch.arange(b, device=dev).view(b, 1, 1, 1), torch.arange(3, device=dev).view(1, 3, 1, 1), rows, cols]
                flip = torch.rand(b, 1, 1, 1, device=dev) < 0.5
                x = torch.where(flip, x.flip(3), x)
                x = ((x.float() / 255 - mean) / std).contiguous(memory_format=torch.channels_last)
                for g in opt.param_groups:
                    g["lr"] = lr_at(step)
                with torch.autocast("cuda", dtype=torch.float16):
                    loss = F.cross_entropy(model(x), ytr[idx], label_smoothing=0.1)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
            torch.cuda.synchronize()
            times.append(time.time() - t)
            model.eval()
            correct = 0
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
                hits = torch.zeros((), dtype=torch.int64, device=dev)
                for i in range(0, len(yte), a.eval_batch):
                    x = ((xte[i:i + a.eval_batch].float() / 255 - mean) / std).contiguous(memory_format=torch.channels_last)
                    hits += (model(x).argmax(1) == yte[i:i + a.eval_batch]).sum()
                correct = hits.item()
            acc = 100.0 * correct / len(yte)
            if acc >= 75 and t75 is None:
                t75 = time.time() - born
            print(f"run {seed} epoch {epoch + 1} test {acc:.2f}% ({times[-1]:.2f} s)", flush=True)
        steady = sum(times[1:]) / max(1, len(times) - 1)
        img_s = steps * a.batch / steady
        results.append({"seed": seed, "img_per_s": img_s, "first_epoch_s": times[0], "s_to_75": t75, "final_test_accuracy": acc})
        print(f"RESULT seed={seed} img_per_s={img_s:.0f} first_epoch_s={times[0]:.2f} s_to_75={t75} final={acc:.2f}", flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "runs": results}, f, indent=2)
    if a.compare:
        ours = sorted(r["img_per_s"] for r in json.load(open(a.compare)))
        theirs = sorted(r["img_per_s"] for r in results)
        ratio = ours[len(ours) // 2] / theirs[len(theirs) // 2]
        gpu = torch.cuda.get_device_name()
        print(f"{gpu}: median steady img/s tch {ours[len(ours) // 2]:.0f} · "
              f"eager PyTorch {theirs[len(theirs) // 2]:.0f} · ratio {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
