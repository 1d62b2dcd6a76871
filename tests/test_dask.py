"""Runs on a Dask cluster (or any executor) give the very files a local run gives."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from flexsim.api import simulate
from flexsim.cli import main
from flexsim.engine import executors
from flexsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
SMALL = ROOT / "scenarios" / "small-studio.yaml"


def outputs(tmp_path: Path, name: str, *argv: str) -> tuple[bytes, bytes]:
    """`flexsim run ... --json --runs-csv` in this process; the two files' bytes."""
    js, csv = tmp_path / f"{name}.json", tmp_path / f"{name}.csv"
    assert main([*argv, "--json", str(js), "--runs-csv", str(csv), "--quiet"]) == 0
    return js.read_bytes(), csv.read_bytes()


def test_any_executor_gives_the_local_records():
    scenario = load_scenario(SMALL)
    local = simulate(scenario, runs=70, seed=4, engine="simpy")
    with ProcessPoolExecutor(2) as pool:
        remote = simulate(scenario, runs=70, seed=4, engine="simpy", executor=pool)
    assert [r.run for r in remote.records] == list(range(70))
    assert all(a.same_as(b) for a, b in zip(local.records, remote.records, strict=True))


def test_a_scenario_travels_as_bytes_and_its_plan_is_built_once_per_process():
    parcel = executors.ScenarioParcel(load_scenario(SMALL))
    again = executors.ScenarioParcel(load_scenario(SMALL))
    assert parcel.digest == again.digest
    assert executors.plan_of(parcel) is executors.plan_of(again)


try:
    import distributed as dask_distributed
except ImportError:  # the dask extra is not installed: the cluster tests are skipped
    dask_distributed = None
needs_dask = pytest.mark.skipif(dask_distributed is None, reason="Dask's distributed is not installed")


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on this machine, on 127.0.0.1 only, without dashboards."""
    if dask_distributed is None:
        pytest.skip("Dask's distributed is not installed")
    with (
        dask_distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as local,
        dask_distributed.Client(local) as client,
    ):
        yield local.scheduler_address, client


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_gives_the_same_files_on_the_cluster(path, cluster, tmp_path):
    address, _ = cluster
    # simpy batches hold 8 runs: 20 runs are 3 batches, spread over both workers. The enterprise
    # example's SimPy runs take seconds each; its batches hold 3 runs, so 4 runs are 2 batches.
    large = sum(group.count for group in load_scenario(path).groups) > 1000
    for engine in ("fast", "simpy"):
        runs = "4" if large and engine == "simpy" else "20"
        argv = ["run", str(path), "--runs", runs, "--seed", "3", "--engine", engine]
        here = outputs(tmp_path, f"local-{engine}", *argv)
        there = outputs(tmp_path, f"dask-{engine}", *argv, "--scheduler", address)
        assert there == here, engine


def test_the_environment_names_the_scheduler_and_workers_keep_it_local(cluster, tmp_path, monkeypatch):
    address, _ = cluster
    argv = ["run", str(SMALL), "--runs", "150", "--seed", "8"]
    here = outputs(tmp_path, "local", *argv)
    monkeypatch.setenv("FLEXSIM_SCHEDULER", address)
    assert outputs(tmp_path, "env", *argv) == here
    assert outputs(tmp_path, "workers", *argv, "--workers", "2") == here


def test_precision_stops_at_the_same_checkpoint_on_the_cluster(cluster, tmp_path):
    address, _ = cluster
    argv = ["run", str(SMALL), "--runs", "600", "--seed", "2", "--precision", "0.1"]
    here = outputs(tmp_path, "local", *argv)
    assert outputs(tmp_path, "dask", *argv, "--scheduler", address) == here
    assert b'"runs": 600' not in here[0]  # it did stop early


def test_other_commands_run_on_the_cluster(cluster, tmp_path):
    address, _ = cluster
    two = [str(ROOT / "scenarios" / "one-big-bundle.yaml"), str(ROOT / "scenarios" / "start-small.yaml")]
    for argv in (
        ["compare", *two, "--runs", "30", "--seed", "1"],
        ["advise", str(SMALL), "--runs", "30", "--seed", "1"],
    ):
        files = []
        for extra in ([], ["--scheduler", address]):
            out = tmp_path / f"{argv[0]}{len(extra)}.json"
            assert main([*argv, *extra, "--json", str(out), "--quiet"]) == 0
            files.append(out.read_bytes())
        assert files[0] == files[1], argv[0]


def test_a_lost_workers_batch_is_computed_again_with_the_same_result(cluster):
    _, client = cluster
    scenario = load_scenario(SMALL)
    local = simulate(scenario, runs=48, seed=6, engine="simpy")
    pids = client.run(os.getpid)
    killed: list[str] = []

    def kill_a_busy_worker(_n: int) -> None:
        if killed:
            return
        for _ in range(100):  # the next batches are being computed: kill a worker that has one
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.02)

    remote = simulate(
        scenario, runs=48, seed=6, engine="simpy", executor=client.get_executor(), progress=kill_a_busy_worker
    )
    assert killed, "no worker was busy: nothing was lost"
    assert all(a.same_as(b) for a, b in zip(local.records, remote.records, strict=True))
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the other tests


@needs_dask
def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(executors, "CONNECT_SECONDS", 1.0)
    out = tmp_path / "out.json"
    code = main(["run", str(SMALL), "--runs", "5", "--json", str(out), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.startswith("flexsim: error: can't reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(err.strip().splitlines()) == 1


def test_workers_and_scheduler_together_is_a_usage_error(capsys):
    assert main(["run", str(SMALL), "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "--workers" in capsys.readouterr().err
