#!/usr/bin/env python3
"""Cross-check: train the peer's PyTorch models on real MNIST with the article's schedule.

It answers "does the same layer spec reach the article's accuracy in PyTorch too?", so a
gap between our tf.js result and the article's can be put on the spec or on our code.
The models come from ../shared/peer/torch_mnist_bench.py (the same ones `deno task
bench` times); "small-net-pooled" is Small Net with a 2x2 max pooling after its first
block, "small-net-strided" the same with a stride-2 first conv instead: both keep its 518
parameters and widen what its last conv sees (5x5 pixels as specified).

Set-up (Debian):  apt-get install -y python3-torch libopenblas0-pthread
Run:              /usr/bin/python3 scripts/peer_accuracy.py --models small-net
                      [--epochs 20] [--train-size 60000] [--mnist data/mnist]
Prints the test loss and accuracy after every epoch, as `deno task reproduce` does.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "peer"))
from torch_mnist_bench import MODELS, SmallNet  # noqa: E402


class SmallNetPooled(SmallNet):  # 518 params: Small Net with a 2x2 max pool after block 1
    def forward(self, x):
        x = F.max_pool2d(F.leaky_relu(self.bn(self.conv1(x))), 2)
        x = F.adaptive_avg_pool2d(F.leaky_relu(self.conv2(x)), 1).view(-1, 8)
        return F.log_softmax(self.fc(x), 1)


class SmallNetStrided(SmallNet):  # 518 params: Small Net whose first conv has stride 2
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 5, 3, stride=2)


ALL_MODELS = {**MODELS, "small-net-pooled": SmallNetPooled, "small-net-strided": SmallNetStrided}


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(folder, kind, limit):
    images = read_idx(os.path.join(folder, f"{kind}-images-idx3-ubyte.gz"), 16)
    labels = read_idx(os.path.join(folder, f"{kind}-labels-idx1-ubyte.gz"), 8)
    x = torch.from_numpy(images.reshape(-1, 1, 28, 28)[:limit].astype(np.float32) / 255)
    return x, torch.from_numpy(labels[:limit].astype(np.int64))


def learning_rate(epoch):  # the article's schedule, epochs counted from 1
    return 5e-3 if epoch <= 10 else 5e-4 if epoch <= 15 else 5e-5


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(x[i:i + 1000]) for i in range(0, len(x), 1000)])
    return F.nll_loss(out, y).item(), (out.argmax(1) == y).float().mean().item() * 100


def train(name, x, y, test_x, test_y, epochs, seed):
    torch.manual_seed(seed)
    model = ALL_MODELS[name]()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.SGD(model.parameters(), lr=5e-3, momentum=0.9, nesterov=True)
    print(f"{name}: {params:,} trainable params, {len(x):,} training images", flush=True)
    for epoch in range(1, epochs + 1):
        for group in opt.param_groups:
            group["lr"] = learning_rate(epoch)
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 16):
            batch = order[i:i + 16]
            opt.zero_grad()
            F.nll_loss(model(x[batch]), y[batch]).backward()
            opt.step()
        loss, accuracy = evaluate(model, test_x, test_y)
        seconds = time.perf_counter() - start
        print(f"  epoch {epoch:2d}: test loss {loss:.4f}, accuracy {accuracy:.2f}% ({seconds:.0f} s)",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="small-net", help=",".join(ALL_MODELS))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--train-size", type=int, default=60000)
    ap.add_argument("--mnist", default=os.path.join(HERE, "..", "data", "mnist"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    unknown = [m for m in args.models.split(",") if m not in ALL_MODELS]
    if unknown:
        sys.exit(f"unknown model {', '.join(unknown)}: choose from {', '.join(ALL_MODELS)}")
    torch.set_num_threads(args.threads)
    x, y = load(args.mnist, "train", args.train_size)
    test_x, test_y = load(args.mnist, "t10k", 10000)
    for name in args.models.split(","):
        train(name, x, y, test_x, test_y, args.epochs, args.seed)


if __name__ == "__main__":
    main()
