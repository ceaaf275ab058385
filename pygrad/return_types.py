"""Named result tuples like ``torch.return_types.max(values=..., indices=...)``."""
from __future__ import annotations

from collections import namedtuple

__all__ = ["max", "min", "sort", "topk", "kthvalue", "median", "svd", "linalg_svd", "linalg_slogdet", "linalg_qr",
           "linalg_eigh", "linalg_lstsq"]


def _result_type(name: str, fields: tuple):
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    doc = f"``torch.return_types.{name}``: the named tuple ({', '.join(fields)}) PyTorch returns."
    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__,
                               "__module__": "pygrad.return_types", "__doc__": doc})
    return cls


max = _result_type("max", ("values", "indices"))  # noqa: A001
min = _result_type("min", ("values", "indices"))  # noqa: A001
sort = _result_type("sort", ("values", "indices"))
topk = _result_type("topk", ("values", "indices"))
kthvalue = _result_type("kthvalue", ("values", "indices"))
median = _result_type("median", ("values", "indices"))
svd = _result_type("svd", ("U", "S", "V"))
linalg_svd = _result_type("linalg_svd", ("U", "S", "Vh"))
linalg_slogdet = _result_type("linalg_slogdet", ("sign", "logabsdet"))
linalg_qr = _result_type("linalg_qr", ("Q", "R"))
linalg_eigh = _result_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_lstsq = _result_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
