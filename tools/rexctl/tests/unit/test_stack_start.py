"""A process that does not come up in time is stopped, not left running unwatched."""

import sys
from pathlib import Path

import psutil
import pytest
from rex_testkit.ports import free_port
from rexctl.stack import Proc, Stack, StackError


def test_a_process_not_ready_in_time_is_stopped(tmp_path: Path) -> None:
    stack = Stack(home=tmp_path)
    port = free_port()
    never_ready = Proc(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(120)"],
        {},
        port,
        f"http://127.0.0.1:{port}/health",
    )
    with pytest.raises(StackError, match="did not become ready"):
        stack.start(never_ready, timeout=1.0)
    sleepers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "time.sleep(120)" in " ".join(p.info["cmdline"] or [])
    ]
    assert sleepers == []
    assert stack.pid_of("sleeper") is None
