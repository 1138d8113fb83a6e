"""The app's server process: Solara's ``run``, ended when the ``estate-sim app`` that started it is gone.

``python -m sim.app.child COMMAND_PID UPLOADS SOLARA-ARGS...``. The server has a session of its
own (Ctrl-C reaches the command, which stops the server's whole group), so nothing told it when
the command was killed with SIGKILL: it went on answering. It now watches the command as sweep
workers do, and removes the sessions' upload folder when it goes.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import sys

from sim.experiments.executors import die_with_command


def _exit_on_signal(signum, _frame):
    sys.exit(128 + signum)


def main(argv: list[str]) -> None:
    """Watch the command, then run Solara's command line with the remaining arguments."""
    command_pid, uploads, *solara_args = argv
    if uploads:  # SIGTERM (the command's stop, or the parent-death signal) or the watcher removes it
        atexit.register(shutil.rmtree, uploads, ignore_errors=True)
    # uvicorn stops cleanly on SIGTERM, puts back the handler it found and raises the signal
    # again: this handler then ends the process through its exit handlers (the default would not)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    die_with_command(int(command_pid), uploads or None, signal.SIGTERM)
    from solara.__main__ import main as solara_main

    sys.argv = ["solara", *solara_args]
    solara_main()


if __name__ == "__main__":
    main(sys.argv[1:])
