"""Where batches of runs are computed: in this process, on local processes, or on any
`concurrent.futures.Executor` (a Dask cluster's, an MPI pool, a process pool).

A task carries the scenario (pickled once, as bytes), the root seed and its run numbers, never a
random generator or any state: run k draws from child k of the seed wherever it is computed. So
a batch computed twice (a lost Dask worker's batch is computed again elsewhere) gives the same
records, and results do not depend on where, or in which order, the batches ran.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from typing import Any

from flexsim.engine.plan import Plan
from flexsim.errors import ClusterError
from flexsim.scenario.model import Scenario

# Batches handed out ahead of those being computed, per worker, so no worker waits for work.
AHEAD = 2
UNKNOWN_WIDTH = 32  # an executor that does not say how many workers it has


class ScenarioParcel:
    """A scenario as tasks carry it: pickled bytes and their digest (which names its plan)."""

    def __init__(self, scenario: Scenario):
        self.blob = pickle.dumps(scenario, protocol=pickle.HIGHEST_PROTOCOL)
        self.digest = hashlib.blake2b(self.blob, digest_size=16).hexdigest()

    def __reduce__(self):
        return (_unparcel, (self.blob, self.digest))


def _unparcel(blob: bytes, digest: str) -> ScenarioParcel:
    parcel = ScenarioParcel.__new__(ScenarioParcel)
    parcel.blob, parcel.digest = blob, digest
    return parcel


# Plans built in this (worker) process, by scenario digest: a plan is built once per process,
# not once per batch. Two are kept (a comparison or an optimisation alternates a few scenarios).
_plans: dict[str, Plan] = {}
_plans_lock = threading.Lock()
KEEP_PLANS = 2


def plan_of(parcel: ScenarioParcel) -> Plan:
    with _plans_lock:
        plan = _plans.get(parcel.digest)
        if plan is None:
            plan = Plan(pickle.loads(parcel.blob), validate=False)  # validated where it was sent from
            while len(_plans) >= KEEP_PLANS:
                _plans.pop(next(iter(_plans)))
            _plans[parcel.digest] = plan
        return plan


def run_task(parcel: ScenarioParcel, fn: Callable, runs: list[int], extra: tuple):
    """One batch, wherever it runs: (first run, fn(plan, seed, runs, *rest))."""
    return runs[0], fn(plan_of(parcel), extra[0], runs, *extra[1:])


def width(executor: Executor) -> int:
    """How many batches the executor computes at once (a guess when it doesn't say)."""
    if isinstance(executor, DaskExecutor):
        return executor.threads()
    client = getattr(executor, "_client", None)  # a Dask client's executor
    if client is not None:
        try:
            threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
        except Exception:  # noqa: BLE001 (an old or odd client: fall back to the guess)
            threads = 0
        return threads or UNKNOWN_WIDTH  # no worker yet (an adaptive cluster): they will come
    return getattr(executor, "_max_workers", None) or UNKNOWN_WIDTH


def on_executor(
    executor: Executor, plan: Plan, fn: Callable, chunks: list[list[int]], extra: tuple
) -> Iterator[tuple[int, object]]:
    """Yield (first run, result) per batch as batches finish on `executor`.

    At most AHEAD x width batches are out at once, so a run that stops early (`--precision`)
    leaves little work behind; that work is cancelled when the caller stops listening.
    """
    parcel = ScenarioParcel(plan.scenario)
    limit = AHEAD * width(executor)
    todo = iter(chunks)
    pending: set[Future] = set()
    try:
        for chunk in todo:
            pending.add(executor.submit(run_task, parcel, fn, chunk, extra))
            if len(pending) >= limit:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.add(executor.submit(run_task, parcel, fn, nxt, extra))
    finally:
        for future in pending:
            future.cancel()


def in_process(plan: Plan, fn: Callable, chunks: list[list[int]], extra: tuple):
    for chunk in chunks:
        yield chunk[0], fn(plan, extra[0], chunk, *extra[1:])


def dispatch(
    plan: Plan,
    fn: Callable,
    chunks: list[list[int]],
    workers: int,
    extra: tuple,
    executor: Executor | None = None,
) -> Iterator[tuple[int, object]]:
    """Yield (first run, fn(plan, seed, batch, *rest)) per batch, in order of completion.

    On `executor` if given; else on `workers` local processes (in this process for one worker
    or one batch).
    """
    if executor is not None:
        yield from on_executor(executor, plan, fn, chunks, extra)
    elif workers <= 1 or len(chunks) <= 1:
        yield from in_process(plan, fn, chunks, extra)
    else:
        with ProcessPoolExecutor(
            max_workers=workers, initializer=end_with_parent, initargs=(os.getpid(),)
        ) as pool:
            yield from on_executor(pool, plan, fn, chunks, extra)


ORPHAN_CHECK_SECONDS = 0.5


def end_with_parent(parent: int) -> None:
    """In a local worker: end when the command's process is gone. A SIGKILL, which the command
    can't pass on, would otherwise leave the workers waiting for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="flexsim-orphan-check", daemon=True).start()


CONNECT_SECONDS = 5.0  # a scheduler that does not answer within this is reported, not waited for


def _worker_version() -> str:
    import flexsim

    return flexsim.__version__


class DaskExecutor(Executor):
    """The executor of a Dask cluster whose scheduler is at `address` (host:port, tcp://...).

    It connects on first use (so bad input is reported before waiting for a cluster) and checks
    that the workers run this version of flexsim. A worker lost mid-batch is Dask's to handle:
    the scheduler gives its batches to another worker, which computes the same records.
    """

    def __init__(self, address: str, timeout: float | None = None):
        self.address = address
        self.timeout = CONNECT_SECONDS if timeout is None else timeout
        self._client: Any = None  # a distributed.Client once connected
        self._executor: Executor | None = None

    def _connect(self) -> Executor:
        if self._executor is None:
            self._client = _connect(self.address, self.timeout)
            try:
                _check_workers(self._client, self.address)
            except BaseException:
                self.shutdown()
                raise
            executor = self._executor = self._client.get_executor()
            return executor
        return self._executor

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return self._connect().submit(fn, *args, **kwargs)

    def threads(self) -> int:
        return width(self._connect())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._executor = None


def _connect(address: str, timeout: float):
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            "--scheduler needs Dask's distributed scheduler: python -m pip install 'flexsim[dask]'"
        ) from None
    _reachable(address, timeout)
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(f"can't reach the Dask scheduler at {address}: {reason}") from None
    except Exception as exc:  # noqa: BLE001 (whatever went wrong, it is said in one line)
        raise ClusterError(
            f"{address} answers, but not as a Dask scheduler does ({type(exc).__name__}): check the address"
        ) from None


def _reachable(address: str, timeout: float) -> None:
    """A TCP scheduler accepts connections (a refused one is said at once, not after retries)."""
    import socket

    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp", "tls"):
        return  # another transport: Dask's client says what is wrong
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        host, port = rest, "8786"  # Dask's default scheduler port
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ClusterError(f"can't reach the Dask scheduler at {address}: {reason}") from None


def _check_workers(client, address: str) -> None:
    """Every worker imports flexsim, and the same version (else runs could differ). Workers
    that join later (an adaptive cluster) are not asked."""
    from flexsim import __version__

    try:
        versions = client.run(_worker_version)
    except Exception as exc:  # noqa: BLE001 (a worker without flexsim, say)
        raise ClusterError(f"the Dask workers at {address} can't run flexsim: {exc}") from None
    other = sorted({v for v in versions.values() if v != __version__})
    if other:
        raise ClusterError(
            f"the Dask workers at {address} have flexsim {', '.join(other)}; this is {__version__}"
        )
