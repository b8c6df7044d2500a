"""Node.js for the tests that drive the gateway with real JavaScript clients (tests/node)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.services import missing

NODE_DIR = Path(__file__).with_name("node")
NPM_CI_SECONDS = 300.0


def tool(name: str) -> str:
    """The path of `name` on PATH; missing → failure under CI=true, skip locally."""
    path = shutil.which(name)
    if path:
        return path
    missing(f"`{name}` is not on PATH: the Node client tests need Node.js 20+ and npm")


def _installed(markers: Sequence[str]) -> bool:
    return all((NODE_DIR / "node_modules" / marker).is_file() for marker in markers)


def node_with_packages(markers: Sequence[str]) -> str:
    """`node` (20+), with tests/node's packages installed (`npm ci`, bounded) if `markers` are missing."""
    node = tool("node")
    npm = tool("npm")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node.js 20+ is needed, found {version}"
    # The two backends' pytest processes run side by side: one installs while the other waits (two
    # `npm ci` in one folder remove each other's files).
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed(markers):
            _npm_ci(npm)
            assert _installed(markers), f"`npm ci` did not install {markers} in {NODE_DIR}/node_modules"
    return node


def _npm_ci(npm: str) -> None:
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=NODE_DIR,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=NPM_CI_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`npm ci` in {NODE_DIR} did not finish within {NPM_CI_SECONDS} s")
    assert result.returncode == 0, (
        f"`npm ci` in {NODE_DIR} failed: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
