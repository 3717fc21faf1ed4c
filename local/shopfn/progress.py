"""Progress bars on stderr for the long `shopfn` commands (tqdm, imported only when used).

They stay quiet when stderr is not a terminal (CI, pipes, log files) or after `--quiet`, so
scripted runs keep clean output.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Silence every progress bar of this process (the CLI's `--quiet`)."""
    global _quiet  # noqa: PLW0603 - one switch for the whole command
    _quiet = quiet


def progress_bar(total: int | None, desc: str, unit: str = "it") -> tqdm:
    """A bar with counts and ETA on stderr; use it as a context manager and call `update(n)`."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=total is None or total >= 1000,  # 12.4k rows, but 2/4 steps (not 2.00/4.00)
        file=sys.stderr,
        disable=_quiet or not sys.stderr.isatty(),
        dynamic_ncols=True,
        leave=False,
    )
