# Source: https://d2l.ai/chapter_optimization/gd.html (one-dimensional gradient descent, learning
#   rate, and the two-dimensional case train_2d with gd_2d)
# Changes: the plots are replaced by printing the trajectories' last points.
import torch


def f(x):
    return x ** 2


def f_grad(x):
    return 2 * x


def gd(eta, f_grad):
    x = 10.0
    results = [x]
    for i in range(10):
        x -= eta * f_grad(x)
        results.append(float(x))
    print(f'epoch 10, x: {x:f}')
    return results


results = gd(0.2, f_grad)
gd(0.05, f_grad)
gd(1.1, f_grad)

c = torch.tensor(0.15 * torch.pi)


def f(x):
    return x * torch.cos(c * x)


def f_grad(x):
    return torch.cos(c * x) - c * x * torch.sin(c * x)


print(gd(2, f_grad)[-3:])


def train_2d(trainer, steps=20, f_grad=None):
    x1, x2, s1, s2 = -5, -2, 0, 0
    results = [(x1, x2)]
    for i in range(steps):
        if f_grad:
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2, f_grad)
        else:
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
        results.append((x1, x2))
    print(f'epoch {i + 1}, x1: {float(x1):f}, x2: {float(x2):f}')
    return results


def f_2d(x1, x2):
    return x1 ** 2 + 2 * x2 ** 2


def f_2d_grad(x1, x2):
    return (2 * x1, 4 * x2)


def gd_2d(x1, x2, s1, s2, f_grad):
    g1, g2 = f_grad(x1, x2)
    return (x1 - eta * g1, x2 - eta * g2, 0, 0)


eta = 0.1
train_2d(gd_2d, f_grad=f_2d_grad)

x = torch.tensor([-5.0, -2.0], requires_grad=True)
opt = torch.optim.SGD([x], lr=0.1)
for _ in range(20):
    opt.zero_grad()
    f_2d(x[0], x[1]).backward()
    opt.step()
print(x)
for name in ["Adagrad", "RMSprop", "Adadelta", "Adam", "Adamax", "NAdam", "RAdam", "AdamW"]:
    x = torch.tensor([-5.0, -2.0], requires_grad=True)
    opt = getattr(torch.optim, name)([x], lr=0.4) if name != "Adadelta" else torch.optim.Adadelta([x], lr=5.0)
    for _ in range(20):
        opt.zero_grad()
        f_2d(x[0], x[1]).backward()
        opt.step()
    print(name, x.detach())
