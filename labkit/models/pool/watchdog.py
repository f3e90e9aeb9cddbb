"""The article's pool watchdog (seed section 4.4, ``func (p *Pool) watchdog()``), decision only.

Every tick (``interval_ms``, 100 ms in the article: ``time.NewTicker(100 * time.Millisecond)``) it
reads the channel's length and decides::

    if qLen > 2*p.workers {                 // high_factor = 2
        consecutiveHighLoad++
        if consecutiveHighLoad >= 3 {       // high_samples = 3
            p.scaleUp(2)                    // grow_step = 2
            consecutiveHighLoad = 0
        }
    } else {
        consecutiveHighLoad = 0
        if qLen == 0 && p.workers > p.baseSize {
            p.scaleDown(1)                  // shrink_step = 1
        }
    }

This class keeps the decision apart from the event loop that carries it out
(:mod:`labkit.models.pool.engine`), so the rule can be tested sample by sample. ``max_workers`` is the
model's addition (the article's pool has no ceiling; ``None`` keeps it that way). Note what the
rule watches: ``len(taskCh)``, requests nobody has picked up. Workers that picked a request up but
wait for a P are invisible to it, which is why it keeps growing a CPU-bound pool past GOMAXPROCS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Watchdog:
    """The watchdog's state: the pool size it believes in and its run of high samples."""

    workers: int
    min_workers: int
    max_workers: int | None
    high_factor: float
    high_samples: int
    grow_step: int
    shrink_step: int
    consecutive_high: int = 0

    def tick(self, queue_len: int) -> int:
        """One sample of ``len(taskCh)``; returns workers to add (> 0) or remove (< 0), or 0."""
        if queue_len > self.high_factor * self.workers:
            self.consecutive_high += 1
            if self.consecutive_high < self.high_samples:
                return 0
            self.consecutive_high = 0
            grow = self.grow_step
            if self.max_workers is not None:
                grow = max(0, min(grow, self.max_workers - self.workers))
            self.workers += grow
            return grow
        self.consecutive_high = 0
        if queue_len == 0 and self.workers > self.min_workers:
            shrink = min(self.shrink_step, self.workers - self.min_workers)
            self.workers -= shrink
            return -shrink
        return 0
