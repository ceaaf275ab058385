"""PyTorch's error texts, kept in one place so every raise site words them the same."""
from __future__ import annotations

import re
import warnings

SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")



def not_writable(attribute: str, obj) -> str:
    """PyTorch's text for assigning a read-only attribute of a graph node."""
    return f"attribute '{attribute}' of '{type(obj).__name__}' objects is not writable"


def no_such_output(node, output_nr) -> str:
    """A graph edge (or a tensor's ``_output_nr``) names an output its node does not have."""
    return f"a graph edge leads to output {output_nr} of {type(node).__name__}, which has no such output"


def not_a_node(obj) -> str:
    return f"a graph edge leads to an object of type {type(obj).__name__}, which is not a graph node"


def malformed_edges(node) -> str:
    return (f"next_functions of {type(node).__name__} is not a tuple of (node, input number) "
            "pairs")


_WARNED: set = set()  # the messages warn_once gave in this process


def warn_once(message: str, stacklevel: int) -> None:
    """A UserWarning PyTorch gives once per process (TORCH_WARN_ONCE): the first time only.
    ``stacklevel`` counts from the caller of ``warn_once``."""
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


NO_GRAD_FN = "element {} of tensors does not require grad and does not have a grad_fn"
IMPLICIT_GRAD = "grad can be implicitly created only for scalar outputs"
LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
INT_REQUIRES_GRAD = "Only Tensors of floating point and complex dtype can require gradients"
INT_REQUIRES_GRAD_ = "only Tensors of floating point dtype can require gradients"
NON_LEAF_REQUIRES_GRAD = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
    "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")
NUMPY_REQUIRES_GRAD = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
    "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
    "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor "
    "by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 "
    "for more information.")

SCALAR_OF_GRAD_WARNING = ("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                          "Consider using tensor.detach() first.")

# PyTorch's C names of the element types, as some of its error messages spell them.
C_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
                "bool": "bool"}


def size_str(shape) -> str:
    return "torch.Size([" + ", ".join(str(s) for s in shape) + "])"


def tensor_type_str(array) -> str:
    from .dtypes import from_numpy
    return f"[torch.{from_numpy(array.dtype)._tensor_type} [{', '.join(str(s) for s in array.shape)}]]"


def version_mismatch(array, grad_fn, output_nr, version: int, expected: int) -> str:
    producer = ""
    if grad_fn is not None:
        op = re.sub(r"Backward0?$", "", grad_fn.name()).replace("Backward", "")  # MaxBackward1 -> Max1
        producer = f", which is output {output_nr} of {op},"
    return ("one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: {tensor_type_str(array)}{producer} is at version {version}; expected version "
            f"{expected} instead. Hint: enable anomaly detection to find the operation that failed to "
            "compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def broadcast_mismatch(a_size: int, b_size: int, dim: int) -> str:
    return (f"The size of tensor a ({a_size}) must match the size of tensor b ({b_size}) "
            f"at non-singleton dimension {dim}")
