"""A lease holder killed with ``kill -9`` releases its lease (by expiry, or a dropped connection).

The holder is a real separate process: it takes the lease, says so, and
sleeps; the test kills it with SIGKILL and takes the lease from here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from authplug.coordination import Coordination

HOLDER = """
import json, sys, time
from authplug.coordination import open_coordination
name, options = sys.argv[1], json.loads(sys.argv[2])
backend = open_coordination(name, options)
lease = backend.try_lease("crash")
print("held" if lease is not None else "refused", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres", "redis"])
def test_killed_holder_releases_the_lease(
    open_backend: Callable[..., Coordination],
    backend_options: Callable[..., dict[str, Any]],
    backend_name: str,
) -> None:
    options = backend_options(lease_ttl=2)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, backend_name, json.dumps(options)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        here = open_backend(lease_ttl=2)
        assert here.try_lease("crash") is None
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        here.wait_released("crash", 10)
        lease = here.try_lease("crash")
        assert lease is not None
        here.release(lease)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
