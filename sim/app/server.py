"""Serving the teaching app: `solara run` in a child process, on this computer only by default."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from sim.errors import InputError

DEFAULT_HOST = "127.0.0.1"
"""Loopback only: other computers cannot reach the app unless --host says so."""
DEFAULT_PORT = 8765
APP_MODULE = "sim.app.app"


def server_command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """The command that serves the app (Solara's server in production mode, no browser opened)."""
    return [sys.executable, "-m", "solara", "run", APP_MODULE, "--host", host, "--port", str(port),
            "--production", "--no-open"]


def server_environment() -> dict[str, str]:
    """The child's environment: ours, with this checkout importable even if not installed."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def check_port_free(host: str, port: int) -> None:
    """Raise InputError (exit 2) if the address cannot be bound: port taken, or host unknown."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError("command line", "--host", f"cannot resolve {host!r} ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        if os.name != "nt":  # as the server does: closed connections waiting out TIME_WAIT are fine
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError("command line", "--port",
                             f"cannot listen on {host}:{port} ({exc.strerror})") from None


def start_server(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, **popen) -> subprocess.Popen:
    """Start the app's server in a child process (for tests and `serve`)."""
    return subprocess.Popen(server_command(host, port), env=server_environment(), **popen)


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Serve the app until Ctrl-C; 0 when stopped, 1 if the server failed."""
    from sim.app.assets import missing_packages

    check_port_free(host, port)
    missing = missing_packages()
    if missing:
        print("estate-sim app: Solara's web assets are not cached here, so the page will fetch "
              f"{', '.join(missing)} from the internet; for offline use run "
              "`python -m sim.app.assets` once", file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    print(f"estate-sim app: open http://{shown}:{port} in a browser (Ctrl-C stops the server)",
          flush=True)
    server = start_server(host, port)
    try:
        status = server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=10)
        raise
    if status != 0:
        print(f"estate-sim: the app's server stopped with status {status}", file=sys.stderr)
        return 1
    return 0
