"""Peak memory of a training loop with in-place ops (ReLU(inplace=True), h.add_), run
unchanged on PyTorch and on pygrad, with the garbage collector on (its defaults):

    python inplace_loop_memory.py torch|pygrad

Prints how far the resident set grew above its size after setup during 200 steps. A graph
that is a reference cycle waits for the cyclic collector with all its saved arrays.
"""
import os
import resource
import sys

if sys.argv[1] == "pygrad":
    import pygrad as torch
else:
    import torch
nn = torch.nn


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(inplace=True), nn.Linear(1024, 1024),
                      nn.ReLU(inplace=True), nn.Linear(1024, 1))
x = torch.randn(512, 256)


def step():
    h = model[1](model[0](x))
    h = model[2](h)
    h.add_(1.0)
    loss = model[4](model[3](h)).sum()
    loss.backward()


start = rss_mib()
for _ in range(200):
    step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{sys.argv[1]}: peak +{peak - start:.0f} MiB above the {start:.0f} MiB after setup")
