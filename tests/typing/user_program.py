"""A small program written the way a user writes one, type-checked with ``mypy --strict``."""
from __future__ import annotations

import pygrad as torch
from pygrad import nn
from pygrad.nn import functional as F
from pygrad.utils.data import DataLoader, TensorDataset


class MLP(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc2(F.relu(self.fc1(x)))  # Module.__call__ returns Any, as in PyTorch
        return out


def gradient_of_square(value: float) -> float:
    x = torch.tensor([value], requires_grad=True)
    y = torch.sum(x ** 2 + 3 * x)
    y.backward()
    assert x.grad is not None
    return x.grad.item()


def train(epochs: int) -> float:
    torch.manual_seed(0)
    points = torch.randn(256, 2)
    labels = (points[:, 0] > 0).long() + (points[:, 1] > 0).long()
    loader = DataLoader(TensorDataset(points, labels), batch_size=32, shuffle=True)
    model = MLP(16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    loss = torch.zeros(())
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        accuracy: float = (model(points).argmax(dim=1) == labels).float().mean().item()
    return accuracy


def activations() -> list[float]:
    x = torch.linspace(-1.0, 1.0, 5)
    y = F.gelu(x) + F.softplus(x, beta=2.0) + torch.sin_(x.clone())
    values: list[float] = y.tolist()
    return values


def shapes() -> list[int]:
    a: torch.Tensor = torch.zeros(3)
    b = torch.ones(2, 3).t() @ torch.ones(2, 3)
    c = torch.cat([a, a]).reshape(2, 3).sum(dim=0)
    print(b.shape, c.dtype is torch.float32, a.requires_grad)
    return list(b.shape)


if __name__ == "__main__":
    print(gradient_of_square(1.0), train(2), shapes(), activations())
