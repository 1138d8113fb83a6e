"""The results folder of a sweep: its layout, and a writer that a reader can never catch half-way.

Layout (``analysis/results.py`` reads it)::

    <folder>/
      manifest.json                the sweep as resolved (scenario and input-file hashes,
                                   replicates, seed, engine, years, factors), package version,
                                   git commit, creation time, invocations
      runs/<run_id>.json           one record per finished run (ok or failed), written LAST:
                                   a record's presence means the run's tables are complete;
                                   it holds the run's identity and each table's size and hash
      timeseries/<run_id>.parquet  the run's monthly outputs + scenario, replicate, design_point
      areas/<run_id>.parquet       the run's final management areas + run_id, scenario,
                                   replicate, design_point
      estates/, events/, firms/    the run's estates, events and firms tables, keyed the same
      runs.parquet                 all records in one table, written when a sweep invocation
                                   ends (removed while one is adding runs)
      .estate-sim.lock             held (flock) by the one invocation writing the folder

Every file is written to a temporary ``~tmp.<name>.<random>`` in its folder and renamed into
place, so a reader sees a whole file or none; run ids never contain ``~``, so no run's file is
ever taken for a temporary. A sweep killed half-way leaves at most some temporaries and tables
without a record; the next invocation removes the first and redoes the runs of the second. A
run whose table no longer matches the size and SHA-256 in its record is redone too.
docs/RELIABILITY.md states the whole contract.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import filelock
import pandas as pd

from sim import __version__
from sim.errors import InputError, shown
from sim.experiments.identity import differences, identity_digest, model_version
from sim.outputs import OUTPUT_TABLES, RUN_TABLES, atomic_write

MANIFEST = "manifest.json"
RUNS_TABLE = "runs.parquet"
RUNS_DIR = "runs"
TIMESERIES_DIR = "timeseries"
AREAS_DIR = "areas"
TABLE_DIRS: dict[str, str] = {name: name for name in (*RUN_TABLES, "statistics")}
"""Each run table's folder (timeseries/, areas/, estates/, events/, firms/, and the optional series):
one file per run; statistics/ holds a calibration run's one row of summary statistics (made when
first written)."""
LOCK_FILE = ".estate-sim.lock"
TEMP_PREFIX = "~tmp."
"""Temporaries are ``~tmp.<name>.<random>``: run ids (sweep slugs) never contain ``~``."""
KEY_COLUMNS: tuple[str, ...] = ("run_id", "scenario", "replicate", "design_point")
"""Columns that identify a run; the tables of every run carry them."""
RECORD_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, "seed", "status", "error", "wall_time_s")
"""Columns of runs.parquet; each design factor adds a column named after its parameter."""
"""Each per-run table and the folder its files go in (another table adds its own folder)."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_json(data: Any) -> str:
    """SHA-256 of a JSON-able value, keys sorted (the identity of a resolved sweep or run)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def git_commit(cwd: Path | None = None) -> str | None:
    """The checked-out commit of the package's repository, or None when there is none."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, cwd=cwd or Path(__file__).resolve().parent,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def store_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file through a temporary of the store's own pattern, then rename it into place."""
    atomic_write(path, write, prefix=TEMP_PREFIX)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    store_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from the results folder; unreadable or damaged is an InputError naming it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = (exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                  if isinstance(exc, UnicodeDecodeError) else "not valid JSON")
        raise InputError(str(path), None, f"unreadable {what} ({reason}): the file is damaged; "
                         "remove it (or the whole folder) and run the same command again") from None
    if not isinstance(data, dict):
        raise InputError(str(path), None, f"damaged {what}: not a JSON object; remove it and run "
                         "the same command again")
    return data


def read_record(path: Path) -> dict[str, Any]:
    """One run record (runs/<run_id>.json), checked to be one; damage is an InputError."""
    record = read_json(path, "run record")
    missing = [k for k in (*RECORD_COLUMNS, "factors") if k not in record]
    if missing or record["run_id"] != Path(path).stem:
        raise InputError(str(path), missing[0] if missing else "run_id",
                         "damaged run record; remove it and run the same command again")
    return record


MAX_OUT_NAME_BYTES = 200
"""Longest name of an output folder or file: its temporaries add a prefix and a suffix, and a
file system's names stop at 255 bytes."""
MAX_OUT_PATH_BYTES = 3000
"""Longest output path: the files below it must stay within Linux's 4,096 bytes."""


def check_out_folder(folder: Path, flag: str = "--out", *, replaced: bool = False,
                     file: bool = False) -> None:
    """Refuse, before anything runs, an output location the command could not write.

    A file (or a path below one), a dangling symbolic link, `.` or `..`, a name or path too long,
    and a place where no file can be created (read-only, permission denied) are refused.
    `replaced`: the command puts a new folder in place of `folder` (``run``), so the folder
    that holds it must be writable too. `file`: the output is one file (replaced too).
    """
    folder = Path(folder)
    text = str(folder)
    if "\0" in text:
        raise InputError("command line", flag, "the path contains a NUL character")
    if folder.name in ("", ".", ".."):
        raise InputError("command line", flag, f"{shown(text)} names no folder of its own (the "
                         "command would write over the folder it names); give a new folder's name")
    if len(folder.name.encode("utf-8", "surrogateescape")) > MAX_OUT_NAME_BYTES:
        raise InputError("command line", flag, f"the name {shown(folder.name, 40)} is longer than "
                         f"{MAX_OUT_NAME_BYTES} bytes; give a shorter one")
    if len(str(folder.absolute()).encode("utf-8", "surrogateescape")) > MAX_OUT_PATH_BYTES:
        raise InputError("command line", flag, f"the path is longer than {MAX_OUT_PATH_BYTES} bytes")
    for candidate in (folder, *folder.parents):
        if candidate.is_symlink() and not candidate.exists():
            raise InputError("command line", flag, f"{candidate} is a symbolic link to "
                             f"{os.readlink(candidate)}, which does not exist")
        if candidate.exists() and not candidate.is_dir() and not (file and candidate == folder):
            where = "exists and is not a folder" if candidate == folder else f"lies below {candidate}, a file"
            raise InputError("command line", flag, f"{folder} {where}")
        if candidate.exists():
            _check_writable(folder.parent if (replaced or file) and candidate == folder else candidate,
                            flag)
            break


def _check_writable(folder: Path, flag: str) -> None:
    # A file is created and removed: os.access says yes to root on a read-only file system.
    try:
        handle, probe = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}probe.", dir=folder or Path("."))
    except OSError as exc:
        raise InputError("command line", flag, f"cannot write in {folder} ({exc.strerror}); give "
                         "another folder") from None
    os.close(handle)
    os.unlink(probe)


class ResultsStore:
    """A sweep's results folder: lock it, create or reopen it, record runs, consolidate.

    One invocation at a time: ``open`` takes an exclusive lock on the folder, held until
    ``close`` (or the process ends, whatever the way: the kernel releases it).
    """

    def __init__(self, folder: Path, flag: str = "--out"):
        self.folder = Path(folder)
        self.flag = flag
        """The command-line flag that names the folder, as refusals name it."""
        self._lock: filelock.BaseFileLock | None = None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the folder's lock (the lock file stays: removing it would race)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _acquire(self) -> None:
        if self._lock is not None:
            return
        check_out_folder(self.folder, self.flag)
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(self.folder / LOCK_FILE, timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise InputError(str(self.folder), None,
                             "another estate-sim invocation is writing this results folder; wait "
                             f"for it to finish, or use another {self.flag} folder") from None
        self._lock = lock

    def read_manifest(self) -> dict[str, Any] | None:
        """The folder's manifest, None when there is none; a damaged one is an InputError."""
        path = self.folder / MANIFEST
        if not path.is_file():
            return None
        manifest = read_json(path, "manifest")
        if not isinstance(manifest.get("sweep"), dict):
            raise InputError(str(path), "sweep", "damaged manifest; remove the folder (or use "
                             f"another {self.flag} folder) and run the command again")
        return manifest

    def open(self, *, sweep_sha256: str, resolved: dict[str, Any], engine: str, executor: str,
             identities: Mapping[str, dict[str, Any]] | None = None,
             rerun_changed: bool = False) -> dict[str, dict[str, Any]]:
        """Lock the folder, create or reopen it; returns the stored records by run_id.

        With ``identities`` (run_id -> the named parts of the run's identity,
        sim/experiments/identity.py), a folder is reopened by any sweep whose runs do not
        conflict with the stored ones: a stored run of the same id with another identity is
        refused naming what differs (unless ``rerun_changed``: the caller runs it again), and a
        stored run the sweep does not make is refused. The manifest then describes the latest
        sweep. Without them, the folder must have been made
        by the same sweep file with the same resolved sweep (hashes).
        """
        self._acquire()
        folder = self.folder
        manifest_path = folder / MANIFEST
        resolved_sha256 = sha256_json(resolved)
        invocation = {"started": _now(), "package_version": __version__,
                      "git_commit": git_commit(), "model_version": model_version(), "executor": executor}
        manifest = self.read_manifest()
        if manifest is not None:
            self._check_layout()
            records = self.records()
            if identities is not None:
                self._check_identities(records, identities, rerun_changed)
            else:
                self._check_hashes(manifest, sweep_sha256, resolved_sha256)
            manifest.update(sweep_sha256=sweep_sha256, resolved_sha256=resolved_sha256,
                            sweep=resolved, engine=engine, model_version=model_version())
            manifest.setdefault("invocations", []).append(invocation)
        else:
            # Our lock and temporaries (an invocation killed while writing the first manifest,
            # or while probing the folder) are not someone else's files.
            others = [p.name for p in folder.iterdir()
                      if p.name != LOCK_FILE and not p.name.startswith(TEMP_PREFIX)]
            if others:
                raise InputError(str(folder), None,
                                 f"is not empty and holds no {MANIFEST}: not a sweep's results "
                                 f"folder; use another {self.flag} folder")
            manifest = {
                "sweep_sha256": sweep_sha256,
                "resolved_sha256": resolved_sha256,
                "sweep": resolved,
                "engine": engine,
                "package_version": __version__,
                "git_commit": invocation["git_commit"],
                "model_version": model_version(),
                "created": invocation["started"],
                "invocations": [invocation],
            }
        # the manifest first and runs/ last: a reader that finds runs/ always finds the manifest
        _write_json(manifest_path, manifest)
        for name in (*OUTPUT_TABLES, RUNS_DIR):
            (folder / TABLE_DIRS.get(name, name)).mkdir(exist_ok=True)
        self._remove_temporaries()
        return self.records()

    def _check_layout(self) -> None:
        # A folder where a file belongs, or a file where a folder does, would fail a write later
        # (exit 1, after runs): refused now, naming it.
        expected = [(self.folder / RUNS_TABLE, False)]
        for name in (*TABLE_DIRS.values(), RUNS_DIR):
            folder = self.folder / name
            expected.append((folder, True))
            if folder.is_dir():
                expected += [(path, False) for path in folder.iterdir()
                             if path.suffix in (".parquet", ".json")]
        for path, is_folder in expected:
            if path.exists() and path.is_dir() != is_folder:
                raise InputError(str(path), None, f"damaged results folder: a "
                                 f"{'file' if is_folder else 'folder'} where a "
                                 f"{'folder' if is_folder else 'file'} belongs; remove it and run the "
                                 "same command again")

    def _check_hashes(self, manifest: dict[str, Any], sweep_sha256: str, resolved_sha256: str):
        if manifest.get("sweep_sha256") != sweep_sha256:
            raise InputError(str(self.folder), None,
                             f"holds the results of a different sweep file (sha256 "
                             f"{str(manifest.get('sweep_sha256'))[:12]}… in {MANIFEST}, "
                             f"this file {sweep_sha256[:12]}…); use another {self.flag} folder")
        if manifest.get("resolved_sha256") != resolved_sha256:
            raise InputError(str(self.folder), None,
                             "holds the results of this sweep file, but its scenarios or input "
                             f"files have changed since (resolved sweep sha256 "
                             f"{str(manifest.get('resolved_sha256'))[:12]}… → "
                             f"{resolved_sha256[:12]}…); use another {self.flag} folder")

    def _check_identities(self, records: dict[str, dict[str, Any]],
                          identities: Mapping[str, dict[str, Any]], rerun_changed: bool) -> None:
        for run_id, record in records.items():
            if run_id not in identities:
                raise InputError(str(self.folder), None,
                                 f"holds run {run_id}, which this sweep does not make (a different "
                                 f"sweep, or a smaller one); use another {self.flag} folder")
            stored = record.get("identity")
            if stored is None or rerun_changed or stored == identity_digest(identities[run_id]):
                continue
            raise InputError(str(self.folder), None,
                             f"holds run {run_id} with other inputs ("
                             f"{differences(record.get('identity_parts'), identities[run_id])}): a "
                             f"different sweep, or a changed one; use another {self.flag} folder, or add "
                             "--rerun-changed to run the changed runs again into this one")

    def _remove_temporaries(self) -> None:
        # Left by an invocation killed while writing; no other invocation is writing (the lock).
        for name in (".", RUNS_DIR, *TABLE_DIRS.values()):
            if not (self.folder / name).is_dir():
                continue
            for path in (self.folder / name).glob(f"{TEMP_PREFIX}*"):
                if path.is_file():
                    path.unlink(missing_ok=True)

    def records(self) -> dict[str, dict[str, Any]]:
        """The stored run records, by run_id (a damaged record is an InputError naming it)."""
        out = {}
        for path in sorted((self.folder / RUNS_DIR).glob("*.json")):
            if path.name.startswith(TEMP_PREFIX):
                continue
            record = read_record(path)
            out[record["run_id"]] = record
        return out

    def intact(self, record: dict[str, Any]) -> bool:
        """Whether every table the record lists is there with the size and SHA-256 it records."""
        tables = record.get("tables")
        if not isinstance(tables, dict):
            return False
        for name, expected in tables.items():
            folder = TABLE_DIRS.get(name)
            if folder is None or not isinstance(expected, dict):
                return False
            path = self.folder / folder / f"{record['run_id']}.parquet"
            try:
                if path.stat().st_size != expected.get("bytes"):
                    return False
                if sha256_file(path) != expected.get("sha256"):
                    return False
            except OSError:
                return False
        return True

    def stored(self, run_ids: Iterable[str]) -> int:
        """How many of the runs have a record (the last file a run writes): what a stop keeps."""
        return sum((self.folder / RUNS_DIR / f"{run_id}.json").is_file() for run_id in run_ids)

    def begin_changes(self) -> None:
        """Remove the consolidated runs.parquet: records are about to change."""
        (self.folder / RUNS_TABLE).unlink(missing_ok=True)

    def add(self, record: dict[str, Any], tables: Mapping[str, pd.DataFrame | None] | None = None) -> None:
        """Store one finished run: its tables first, its record (their sizes and hashes) last.

        Tables are by name, each a key of TABLE_DIRS.
        """
        run_id = record["run_id"]
        record = dict(record)
        if record.get("status") == "ok":
            record["tables"] = {}
        for name, frame in (tables or {}).items():
            path = self.folder / TABLE_DIRS[name] / f"{run_id}.parquet"
            path.parent.mkdir(exist_ok=True)
            if frame is None:
                path.unlink(missing_ok=True)  # a stale table of an earlier try: not this run's
                continue
            store_write(path, lambda p, f=frame: f.to_parquet(p, index=False, engine="pyarrow"))
            if "tables" in record:
                record["tables"][name] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
        _write_json(self.folder / RUNS_DIR / f"{run_id}.json", record)

    def consolidate(self, order: Iterable[str], factor_names: Iterable[str]) -> pd.DataFrame:
        """Write runs.parquet from the stored records, in the sweep's run order; returns it."""
        frame = records_frame(self.records().values(), factor_names, order)
        store_write(self.folder / RUNS_TABLE,
                    lambda p: frame.to_parquet(p, index=False, engine="pyarrow"))
        return frame


def records_frame(records: Iterable[dict[str, Any]], factor_names: Iterable[str],
                  order: Iterable[str] | None = None) -> pd.DataFrame:
    """Run records as the runs table: keys, seed, one column per factor, status, error, wall time.

    Rows follow `order` (run ids) when given, else the records' order.
    """
    factor_names = list(factor_names)
    rows = []
    for record in records:
        row = {name: record[name] for name in RECORD_COLUMNS}
        row.update({name: record["factors"].get(name) for name in factor_names})
        rows.append(row)
    columns = [*KEY_COLUMNS, "seed", *factor_names, "status", "error", "wall_time_s"]
    frame = pd.DataFrame(rows, columns=columns)
    if order is not None:
        rank = {run_id: i for i, run_id in enumerate(order)}
        frame = frame.iloc[frame["run_id"].map(rank).fillna(len(rank)).argsort(kind="stable")]
    frame = frame.astype({"run_id": "str", "scenario": "str", "replicate": "int64",
                          "design_point": "int64", "seed": "int64", "status": "str",
                          "error": "str", "wall_time_s": "float64"})
    return frame.reset_index(drop=True)
