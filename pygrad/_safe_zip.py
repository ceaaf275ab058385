"""Reading zip checkpoints that may be hostile: checked names, stored members only, sizes
bounded by what the file declares, arrays read straight into their final buffer."""
from __future__ import annotations

import io
import pickle
import posixpath
import stat
import struct
import zipfile

import numpy as np

from . import dtypes
from ._arrays import checked_array

__all__ = ["CheckpointError", "Archive"]

_CHUNK = 1 << 20
# What zipfile raises on a damaged archive (NotImplementedError: unknown flags or versions).
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, struct.error, ValueError, OSError, NotImplementedError)


class CheckpointError(pickle.UnpicklingError, ValueError):
    """A file ``pygrad.load`` refuses: not a checkpoint, damaged, or asking for something unsafe."""


def _check_name(name: str) -> None:
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or "\0" in name or ":" in parts[0]
            or any(p in ("", ".", "..") for p in parts) or posixpath.normpath(name) != name):
        raise CheckpointError(f"refusing member name {name!r}: not a plain relative path inside the archive")


class Archive:
    """A zip archive whose members all have safe, unique names and are stored uncompressed."""

    def __init__(self, fh):
        try:
            self._zip = zipfile.ZipFile(fh)
        except _ZIP_ERRORS as e:
            raise CheckpointError(f"not a checkpoint: not a zip archive ({e})") from None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            _check_name(info.orig_filename)  # zipfile cuts ``filename`` at a NUL byte
            if info.filename in self.infos:
                raise CheckpointError(f"refusing archive: member {info.filename!r} appears twice")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise CheckpointError(f"refusing member {info.filename!r}: it is a symbolic link")
            if info.flag_bits & 0x1:
                raise CheckpointError(f"refusing encrypted member {info.filename!r}")
            if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
                raise CheckpointError(
                    f"refusing compressed member {info.filename!r}: checkpoints store their members "
                    "uncompressed, and a compressed member could expand without bound")
            self.infos[info.filename] = info

    def close(self) -> None:
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def size(self, name: str) -> int:
        return self._info(name).file_size

    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self.infos[name]
        except KeyError:
            raise CheckpointError(f"damaged checkpoint: member {name!r} is missing") from None

    def read(self, name: str, limit: int) -> bytes:
        """A small member's bytes (headers, pickles), refusing members larger than ``limit``."""
        info = self._info(name)
        if info.file_size > limit:
            raise CheckpointError(f"refusing member {name!r}: {info.file_size} bytes, more than the {limit} expected")
        try:
            return self._zip.read(info)
        except _ZIP_ERRORS as e:
            raise CheckpointError(f"damaged checkpoint: cannot read {name!r} ({e})") from None

    def read_prefix(self, name: str, n: int) -> bytes:
        info = self._info(name)
        try:
            with self._zip.open(info) as member:
                return member.read(min(info.file_size, n))
        except _ZIP_ERRORS as e:
            raise CheckpointError(f"damaged checkpoint: cannot read {name!r} ({e})") from None

    def read_into(self, name: str, out: np.ndarray, skip: int = 0) -> None:
        """Fill the contiguous ``out`` with the member's bytes after the first ``skip``; the member
        must hold exactly that many bytes (its CRC is checked when the last byte is read)."""
        info = self._info(name)
        if info.file_size != skip + out.nbytes:
            raise CheckpointError(f"damaged checkpoint: member {name!r} holds {info.file_size - skip} bytes of "
                                  f"data, but its header declares {out.nbytes}")
        target = memoryview(out.ravel(order="K").view(np.uint8))  # a view in memory order, never a copy
        try:
            with self._zip.open(info) as member:
                member.read(skip)
                pos = 0
                while pos < out.nbytes:
                    chunk = member.read(min(_CHUNK, out.nbytes - pos))
                    if not chunk:
                        raise CheckpointError(f"damaged checkpoint: member {name!r} ends early")
                    target[pos:pos + len(chunk)] = chunk
                    pos += len(chunk)
                member.read()  # reaches the end, where zipfile checks the CRC
        except _ZIP_ERRORS as e:
            raise CheckpointError(f"damaged checkpoint: cannot read {name!r} ({e})") from None

    def read_npy(self, name: str) -> np.ndarray:
        """A ``.npy`` member as a native-order array of a pygrad dtype (no pickled objects)."""
        shape, fortran, dtype, skip = self.read_npy_header(name)
        if any(n < 0 for n in shape):
            raise CheckpointError(f"damaged checkpoint: {name!r} declares the shape {shape}")
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared != self.size(name) - skip:  # checked before allocating anything
            raise CheckpointError(f"damaged checkpoint: member {name!r} holds {self.size(name) - skip} bytes of "
                                  f"data, but its header declares {declared}")
        out = np.empty(shape, dtype, order="F" if fortran else "C")
        self.read_into(name, out, skip)
        return checked_array(out, convert_byte_order=True)

    def read_npy_header(self, name: str):
        head = io.BytesIO(self.read_prefix(name, 1 << 16))
        try:
            version = np.lib.format.read_magic(head)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except (ValueError, SyntaxError, TypeError, struct.error, EOFError) as e:
            raise CheckpointError(f"damaged checkpoint: {name!r} is not a valid .npy array ({e})") from None
        if dtype.hasobject:
            raise CheckpointError(f"refusing {name!r}: its dtype holds Python objects, which would need "
                                  "allow_pickle and can run code")
        try:
            dtypes.from_numpy(dtype)
        except TypeError as e:
            raise CheckpointError(f"refusing {name!r}: {e}") from None
        return shape, fortran, dtype, head.tell()
