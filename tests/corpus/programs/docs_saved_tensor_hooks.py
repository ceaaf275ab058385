# Source: https://pytorch.org/tutorials/intermediate/autograd_saved_tensors_hooks_tutorial.html
#   (pack/unpack hooks: printing what is saved, and saving to a side store)
# Changes: the model is a few elementwise ops on fixed tensors; the disk example keeps the tensors
#   in a dictionary instead of files; the tutorial's look at grad_fn._saved_result (a PyTorch
#   internal attribute) is left out.
import torch

def pack_hook(x):
    print("Packing", x)
    return x


def unpack_hook(x):
    print("Unpacking", x)
    return x


a = torch.ones(5, requires_grad=True)
b = torch.ones(5, requires_grad=True) * 2
with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
    y = a * b
y.sum().backward()

store = {}


def pack_to_store(tensor):
    key = len(store)
    store[key] = tensor.clone()
    return key


def unpack_from_store(key):
    return store[key]


x = torch.linspace(0.5, 2.0, 4, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack_to_store, unpack_from_store):
    y = x.pow(2).sin().sum()
y.backward()
print(len(store), x.grad)
