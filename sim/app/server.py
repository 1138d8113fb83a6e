"""Serving the teaching app: `solara run` in a child process, on this computer only by default.

The server runs in its own process group (its own session), so that stopping `estate-sim app`
by Ctrl-C, SIGTERM or SIGHUP stops the whole group, and the upload folders of its sessions (all
under one folder made for this server) are removed with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from sim.errors import InputError

DEFAULT_HOST = "127.0.0.1"
"""Loopback only: other computers cannot reach the app unless --host says so."""
DEFAULT_PORT = 8765
APP_MODULE = "sim.app.app"
IDLE_TIMEOUT = "2m"
"""A session whose pages are all gone is dropped after this long (Solara's kernel cull timeout)."""
STOP_TIMEOUT_S = 10
STACK_CACHE_TUNABLE = "glibc.pthread.stack_cache_size=0"
"""glibc keeps up to 40 MB of finished threads' stacks for new threads; the server keeps none."""


def server_command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                   uploads: Path | None = None) -> list[str]:
    """The command that serves the app (Solara's server in production mode, no browser opened).

    Run through sim.app.child, which ends the server when this process is gone (SIGKILL too).
    """
    return [sys.executable, "-m", "sim.app.child", str(os.getpid()), str(uploads or ""),
            "run", APP_MODULE, "--host", host, "--port", str(port), "--production", "--no-open"]


def server_environment() -> dict[str, str]:
    """The child's environment: ours, with this checkout importable, idle sessions culled, no banner."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", IDLE_TIMEOUT)
    env.setdefault("ESTATE_SIM_APP_WARM_UP", "1")  # sim.app.app.warm_up: the first page does not wait
    # a closed session's memory goes back to the system: pandas' string columns in glibc's heap
    # (which release_memory trims), not in Arrow's mimalloc pool; a finished play thread's stack
    # unmapped, not kept in glibc's cache of stacks (each held a few MB after rendering frames)
    env.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    env["GLIBC_TUNABLES"] = ":".join(t for t in (env.get("GLIBC_TUNABLES"), STACK_CACHE_TUNABLE) if t)
    # Solara's "made with Solara" badge covered the map's key at 1280x720
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    # Solara warns on every page load over plain http on 127.0.0.1 that an embedding iframe
    # could not keep its session cookie; the app is not embedded, so the warning says nothing
    env["PYTHONWARNINGS"] = ",".join(w for w in (
        env.get("PYTHONWARNINGS"), "ignore:Cookies with samesite=none require https") if w)
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


def start_server(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, uploads: Path | None = None,
                 **popen) -> subprocess.Popen:
    """Start the app's server in a child process of its own process group (for tests and `serve`)."""
    from sim.app.app import UPLOADS_ENV

    env = server_environment()
    if uploads is not None:
        env[UPLOADS_ENV] = str(uploads)
    return subprocess.Popen(server_command(host, port, uploads=uploads), env=env, start_new_session=True,
                            **popen)


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL if it has not gone in time."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=STOP_TIMEOUT_S)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


class _Stopped(Exception):
    """SIGTERM or SIGHUP reached `estate-sim app`."""


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
    def stopped(signum, _frame):
        raise _Stopped(signal.Signals(signum).name)

    uploads = Path(tempfile.mkdtemp(prefix="estate-sim-uploads-"))
    handled = (signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, stopped) for sig in handled}
    server = None
    try:
        server = start_server(host, port, uploads=uploads)
        status = server.wait()
    except _Stopped as why:
        print(f"estate-sim app: stopped by {why}", file=sys.stderr)
        return 0
    finally:
        # the server has its own process group, so Ctrl-C does not reach it: stop it here
        if server is not None:
            stop_server(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(uploads, ignore_errors=True)
    if status != 0:
        print(f"estate-sim: the app's server stopped with status {status}", file=sys.stderr)
        return 1
    return 0
