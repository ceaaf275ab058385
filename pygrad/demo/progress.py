"""A progress bar with the running loss: tqdm when it is installed, one plain line otherwise."""
from __future__ import annotations

import sys
import time


class Progress:
    """``update(loss)`` once per epoch; ``close()`` at the end."""

    def __init__(self, total: int, desc: str, enabled: bool = True, stream=None):
        self.total, self.desc, self.enabled = total, desc, enabled
        self.stream = stream or sys.stdout
        self.count = 0
        self.start = time.perf_counter()
        self._tqdm = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self._tqdm = tqdm(total=total, desc=desc, unit="epoch", file=self.stream, leave=True,
                                  dynamic_ncols=True)
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, loss: float) -> None:
        self.count += 1
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.set_postfix(loss=f"{loss:.4f}", refresh=False)
            self._tqdm.update(1)
            return
        width = 24
        filled = int(width * self.count / self.total)
        elapsed = time.perf_counter() - self.start
        line = (f"{self.desc} |{'#' * filled}{'.' * (width - filled)}| {self.count}/{self.total} "
                f"loss {loss:.4f} [{elapsed:4.1f}s]")
        if self._tty:
            self.stream.write("\r" + line)
            self.stream.flush()
        elif self.count % max(1, self.total // 5) == 0 or self.count == self.total:
            # Not a terminal (a log, a pipe): a few whole lines instead of carriage returns.
            self.stream.write(line + "\n")

    def close(self) -> None:
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._tty:
            self.stream.write("\n")
            self.stream.flush()
