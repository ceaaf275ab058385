# Source: https://d2l.ai/chapter_recurrent-neural-networks/rnn-concise.html (Concise
#   Implementation of Recurrent Neural Networks)
# Changes: a 6-character vocabulary and a fixed text instead of The Time Machine; the random
#   state and inputs are fixed tensors; the parameters are set to fixed values; 20 steps of
#   plain SGD with gradient clipping instead of the d2l Trainer.
import torch
from torch import nn
from torch.nn import functional as F

vocab = ['<unk>', ' ', 'a', 'b', 'c', 'd']
text = 'abc dab cad bca dcb abd '
corpus = [vocab.index(ch) for ch in text]
num_steps, batch_size, num_hiddens = 5, 2, 16

rnn_layer = nn.RNN(len(vocab), num_hiddens)
state = torch.zeros((1, batch_size, num_hiddens))
print(state.shape)
X = torch.linspace(0, 1, num_steps * batch_size * len(vocab)).reshape(num_steps, batch_size, len(vocab))
Y, state_new = rnn_layer(X, state)
print(Y.shape, state_new.shape)


class RNNModel(nn.Module):
    """The RNN model implemented with high-level APIs."""
    def __init__(self, rnn, vocab_size):
        super().__init__()
        self.rnn = rnn
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.linear = nn.Linear(self.num_hiddens, self.vocab_size)

    def forward(self, inputs, state=None):
        X = F.one_hot(inputs.T.long(), self.vocab_size).type(torch.float32)
        Y, state = self.rnn(X, state)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def predict(self, prefix, num_preds):
        state, outputs = None, [vocab.index(prefix[0])]
        for i in range(len(prefix) + num_preds - 1):
            X = torch.tensor([[outputs[-1]]])
            Y, state = self(X, state)
            if i < len(prefix) - 1:
                outputs.append(vocab.index(prefix[i + 1]))
            else:
                outputs.append(int(Y.argmax(axis=1).reshape(1)))
        return ''.join([vocab[i] for i in outputs])


def grad_clipping(model, theta):
    params = [p for p in model.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


model = RNNModel(nn.RNN(len(vocab), num_hiddens), vocab_size=len(vocab))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.linspace(-0.3, 0.3 + 0.02 * i, p.numel()).reshape(p.shape))
print(model.predict('ab', 8))
inputs = torch.tensor([corpus[i:i + num_steps] for i in (0, 7)])
targets = torch.tensor([corpus[i + 1:i + 1 + num_steps] for i in (0, 7)])
optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
for step in range(20):
    output, _ = model(inputs)
    loss = F.cross_entropy(output, targets.T.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    grad_clipping(model, 1)
    optimizer.step()
    if step % 5 == 4:
        print(f'step {step + 1}, perplexity {torch.exp(loss).item():.3f}')
print(model.predict('ab', 8))
