# Source: https://github.com/karpathy/nn-zero-to-hero/blob/master/lectures/makemore/makemore_part2_mlp.ipynb
#   (the character-level MLP: embedding table C, tanh hidden layer, cross_entropy)
# Changes: ten names instead of names.txt; the parameters start from fixed values instead of
#   torch.randn with a seeded generator; full-batch training for 30 steps instead of minibatches.
import torch
import torch.nn.functional as F

words = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn"]
chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)

block_size = 3
X, Y = [], []
for w in words:
    context = [0] * block_size
    for ch in w + '.':
        ix = stoi[ch]
        X.append(context)
        Y.append(ix)
        context = context[1:] + [ix]
X = torch.tensor(X)
Y = torch.tensor(Y)
print(X.shape, X.dtype, Y.shape, Y.dtype)


def fixed(*shape, k=0.0):
    n = 1
    for s in shape:
        n *= s
    return torch.sin(torch.arange(n, dtype=torch.float32) * 0.71 + k).reshape(shape)


C = fixed(V, 2)
W1 = fixed(6, 100, k=1.0) * 0.3
b1 = fixed(100, k=2.0) * 0.1
W2 = fixed(100, V, k=3.0) * 0.1
b2 = fixed(V, k=4.0) * 0
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters))
for p in parameters:
    p.requires_grad = True

emb = C[X]
print(emb.shape)
h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
print(h.shape)
logits = h @ W2 + b2
counts = logits.exp()
prob = counts / counts.sum(1, keepdims=True)
loss = -prob[torch.arange(len(Y)), Y].log().mean()
print(loss)
print(F.cross_entropy(logits, Y))

for i in range(30):
    emb = C[X]
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Y)
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < 20 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    if i % 10 == 0:
        print(i, loss.item())
print(loss.item())

context = [0] * block_size
out = []
while True:
    emb = C[torch.tensor([context])]
    h = torch.tanh(emb.view(1, -1) @ W1 + b1)
    logits = h @ W2 + b2
    ix = int(logits.argmax(dim=1))
    context = context[1:] + [ix]
    out.append(ix)
    if ix == 0 or len(out) > 10:
        break
print(''.join(itos[i] for i in out))
