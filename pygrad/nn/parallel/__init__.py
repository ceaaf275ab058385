"""``pygrad.nn.parallel``: ``DistributedDataParallel`` over ``pygrad.distributed``."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
