# Source: https://github.com/pytorch/examples/blob/main/regression/main.py
#   (fit a degree-4 polynomial with a Linear layer and smooth L1 loss)
# Changes: the random target polynomial and batches are fixed values; 30 iterations instead of
#   "until the loss is below 1e-3"; the Linear layer starts from fixed weights.
import torch
import torch.nn.functional as F

POLY_DEGREE = 4
W_target = torch.tensor([[0.5], [-1.2], [0.3], [0.8]])
b_target = torch.tensor([0.25])


def make_features(x):
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE+1)], 1)


def f(x):
    return x.mm(W_target) + b_target.item()


def poly_desc(W, b):
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.2f} x^{} '.format(w, i + 1)
    result += '{:+.2f}'.format(b[0])
    return result


def get_batch(batch_size=32, step=0):
    random = torch.sin(torch.arange(batch_size, dtype=torch.float32) * 0.77 + step)
    x = make_features(random)
    y = f(x)
    return x, y


fc = torch.nn.Linear(W_target.size(0), 1)
with torch.no_grad():
    fc.weight.copy_(torch.tensor([[0.1, 0.1, 0.1, 0.1]]))
    fc.bias.fill_(0.0)

for batch_idx in range(1, 31):
    batch_x, batch_y = get_batch(step=batch_idx)
    fc.zero_grad()
    output = F.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()
    output.backward()
    for param in fc.parameters():
        param.data.add_(-0.1 * param.grad)
    if batch_idx % 10 == 0:
        print('Loss: {:.6f} after {} batches'.format(loss, batch_idx))

print('==> Learned function:\t' + poly_desc(fc.weight.view(-1), fc.bias))
print('==> Actual function:\t' + poly_desc(W_target.view(-1), b_target))
