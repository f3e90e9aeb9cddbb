"""labkit.models.pool: worker pools in a Go server, and how to size them (chapter 4 of the course).

The article's section 4.1 replaces "a goroutine per draw call" with a fixed pool reading one
channel, and its section 4.4 adds a watchdog that grows the pool when the channel backs up. This
model lets a learner run all three side by side on the same requests:

* ``static``: ``for i := 0; i < N; i++ { go worker(taskCh) }``. The channel is a FIFO queue
  (runtime.chanrecv, src/runtime/chan.go), so with N <= GOMAXPROCS this is the textbook M/M/c
  queue and Erlang C predicts its mean wait (:func:`erlang_c_wait_ms`).
* ``per_request``: ``go handle(req)`` for each request (runtime.newproc, src/runtime/proc.go).
  There is no queue of requests, so nothing ever looks backed up, but every live goroutine
  competes for the same GOMAXPROCS Ps: the queue has moved into the scheduler's run queues, and
  each goroutine costs a spawn (about 1 us, measured) and at least a 2 KiB stack.
* ``adaptive``: the article's watchdog, every 100 ms: grow by 2 after 3 samples of
  len(taskCh) > 2 * workers, shrink by 1 when the channel is empty.

The one fact that decides most of it: only a goroutine holding a P runs Go code, so CPU-bound
work never uses more than GOMAXPROCS cores, however many workers there are. Workers beyond
GOMAXPROCS add waiting in the run queue (served round robin in 10 ms slices, forcePreemptNS in
sysmon's retake), not throughput. They do help when part of each request is a network wait
(``cpu_bound < 1``), during which a parked goroutine holds no P.

Modules: :mod:`~labkit.models.pool.params` (inputs, validation, the runtime's and the article's
constants), :mod:`~labkit.models.pool.workload` (seeded arrivals and service times),
:mod:`~labkit.models.pool.fifo` (the fast exact path for a pool that never waits for a P),
:mod:`~labkit.models.pool.engine` (the event loop with Ps, time slices and the watchdog),
:mod:`~labkit.models.pool.result` (statistics), :mod:`~labkit.models.pool.erlang` (M/M/c formulas),
:mod:`~labkit.models.pool.sizing` (policy comparison and pool sizing on common random numbers),
:mod:`~labkit.models.pool.queueing` (the hockey stick against Erlang C, Kingman's variability factor,
FCFS against processor sharing, coordinated omission: chapter 4.5).
"""

from labkit.models.pool.erlang import erlang_b, erlang_c_probability, erlang_c_wait_ms
from labkit.models.pool.params import (
    FORCE_PREEMPT_MS,
    GOROUTINE_SPAWN_US,
    POLICIES,
    SERVICE_KINDS,
    PoolParameterError,
    PoolParams,
)
from labkit.models.pool.queueing import (
    allen_cunneen_wait_ms,
    coordinated_omission,
    fcfs_vs_sharing,
    hockey_stick,
    kingman_wait_ms,
    mmc_latency_p99_ms,
)
from labkit.models.pool.result import STACK_MIN_BYTES, PoolResult
from labkit.models.pool.simulate import simulate_pool
from labkit.models.pool.sizing import (
    TargetUnreachableError,
    compare_policies,
    min_workers_for_p99,
    run_policies,
    sweep_workers,
)

__all__ = [
    "FORCE_PREEMPT_MS",
    "GOROUTINE_SPAWN_US",
    "POLICIES",
    "SERVICE_KINDS",
    "STACK_MIN_BYTES",
    "PoolParameterError",
    "PoolParams",
    "PoolResult",
    "TargetUnreachableError",
    "allen_cunneen_wait_ms",
    "compare_policies",
    "coordinated_omission",
    "erlang_b",
    "erlang_c_probability",
    "erlang_c_wait_ms",
    "fcfs_vs_sharing",
    "hockey_stick",
    "kingman_wait_ms",
    "min_workers_for_p99",
    "mmc_latency_p99_ms",
    "run_policies",
    "simulate_pool",
    "sweep_workers",
]
