"""A wall-clock budget for one chat turn, so the function answers before API Gateway gives up."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Deadline:
    """Seconds left for a chat turn, measured on the monotonic clock."""

    seconds: float
    _started: float = field(default_factory=time.monotonic, repr=False)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.seconds - (time.monotonic() - self._started))

    @classmethod
    def for_request(cls, configured: float, lambda_remaining_ms: int | None) -> Deadline:
        """The configured budget, shortened to leave 3 s of the Lambda's own time for the rest."""
        if lambda_remaining_ms is None:
            return cls(configured)
        return cls(max(0.0, min(configured, lambda_remaining_ms / 1000 - 3.0)))
