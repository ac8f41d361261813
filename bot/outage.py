"""One log line per outage: a service that stops answering (the database) is reported when it goes, not at every
failed try, and once more when it answers again."""

from __future__ import annotations

import logging
import time


class Outage:
    """Whether `what` is down now; `failed` logs the first failure of an outage, `recovered` its end."""

    def __init__(self, what: str, logger: logging.Logger) -> None:
        self.what = what
        self.log = logger
        self.down = False
        self.failures = 0
        self._since = 0.0

    def failed(self, detail: str, retry: str = "the next tick tries again") -> bool:
        """A try failed: one warning at the start of an outage (True), then only debug lines (False)."""
        self.failures += 1
        if self.down:
            self.log.debug("%s still unreachable (%d tries): %s", self.what, self.failures, detail)
            return False
        self.down = True
        self._since = time.monotonic()
        self.log.warning("%s unreachable: %s; %s", self.what, detail, retry)
        return True

    def recovered(self) -> bool:
        """A try succeeded: one line when it ends an outage (True)."""
        if not self.down:
            return False
        self.log.warning("%s reachable again after %.0f s (%d failed tries)", self.what,
                         time.monotonic() - self._since, self.failures)  # fmt: skip
        self.down = False
        self.failures = 0
        return True
