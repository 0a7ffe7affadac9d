"""The README's main job: `make lab` serves the notebooks in JupyterLab."""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_lab_serves_notebooks(tmp_path):
    port = _free_port()
    args = f"--no-browser --port {port} --ip=127.0.0.1 --allow-root --ServerApp.token=secret"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    server = subprocess.Popen(
        ["make", "-C", str(ROOT), "lab", f"ARGS={args}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api/contents/notebooks?token=secret"
    try:
        status = None
        # A liveness guard, not a speed requirement: give a slow machine plenty of time to start.
        for _ in range(240):
            status = _status(url)
            if status is not None or server.poll() is not None:
                break
            time.sleep(0.5)
        assert status == 200, f"JupyterLab did not serve notebooks/ (status {status})"
        lab = _status(f"http://127.0.0.1:{port}/lab?token=secret")
        assert lab == 200
        # The README promises JupyterLab opens on notebooks/: the server's root redirects there.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/?token=secret")
        location = conn.getresponse().getheader("Location", "")
        conn.close()
        assert location.split("?")[0].endswith("/lab/tree/notebooks"), location
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
