# Source: https://pytorch.org/tutorials/recipes/recipes/profiler_recipe.html (PyTorch Profiler)
# Changes: resnet18 is replaced by a small convolutional model with fixed weights; since timings
#   vary from run to run, the program prints which operators were recorded and how often, not
#   the table's times; the table's header line is printed.
import torch
import torch.nn as nn
from torch.profiler import ProfilerActivity, profile, record_function

model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.linspace(-0.1, 0.1, p.numel()).reshape(p.shape))
inputs = torch.linspace(0, 1, 2 * 3 * 8 * 8).reshape(2, 3, 8, 8)

with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    with record_function("model_inference"):
        model(inputs)

averages = prof.key_averages()
names = {e.key: e.count for e in averages}
print(names["model_inference"], "aten::relu" in names)
table = averages.table(sort_by="cpu_time_total", row_limit=10)
print(table.splitlines()[1].split())
print(table.splitlines()[-1].split(":")[0])
shapes = {e.key: e.input_shapes for e in prof.key_averages(group_by_input_shape=True)}
print(shapes["aten::relu"])
print(prof.key_averages(group_by_input_shape=True).table(sort_by="cpu_time_total", row_limit=3).splitlines()[1].split())
