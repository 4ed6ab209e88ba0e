"""A real local Ray cluster for the compute tests: a head node and a worker node
(one CPU each), on 127.0.0.1 only, started once per module and always torn down.

Ray's ``ray start`` refuses to start a second node when the node address is the
loopback one (it swaps 127.0.0.1 for the machine's network address), so the cluster is
built with Ray's own multi-node test harness, :class:`ray.cluster_utils.Cluster`
(separate GCS and raylet processes per node, as ``ray start`` runs them), with
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeping every address on 127.0.0.1. No
dashboard, no usage statistics, no authentication token needed on loopback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

#: what every Ray process of the test cluster (and a driver started by a test) runs with; Ray
#: reads some of these when it is imported, so they are set before the import below
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                          *filter(None, [os.environ.get("PYTHONPATH")])])}
os.environ.update({k: v for k, v in RAY_ENV.items() if k != "PYTHONPATH"})
NODE = {"num_cpus": 1, "node_ip_address": "127.0.0.1", "object_store_memory": 80 * 1024 * 1024}


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'qualcode[ray]' to run these tests")
    from ray.cluster_utils import Cluster

    saved = {k: os.environ.get(k) for k in RAY_ENV}
    os.environ.update(RAY_ENV)
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
        cluster.add_node(**NODE)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def driver_env() -> dict[str, str]:
    """The environment for a driver subprocess (the CLI) talking to the test cluster."""
    return {**os.environ, **RAY_ENV, "PYTHONUNBUFFERED": "1"}


PYTHON = sys.executable
