"""Solara's web assets, fetched once with npm so that the app works without internet.

Solara's page loads its JavaScript and CSS (the Vuetify app, RequireJS, Font Awesome, and
Vega-Lite, which draws the map and the charts) from a CDN
through the app's own server, which fetches each file from the internet the first time and keeps
it in a cache folder. In a classroom without internet, or in CI, nothing would load. This module
puts the same npm packages into that cache folder with the ordinary npm client, so the server
finds them there:

    python -m sim.app.assets          # fetch what is missing (needs npm and its registry)
    python -m sim.app.assets --check  # exit 1 if anything is missing
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VEGA_PACKAGES = ("vega@5", "vega-lite@5", "vega-embed@6")
"""The map and the charts are drawn in the browser by Vega-Lite; Solara's own Vega-Lite widget asks
for these major versions under these names, so the app's widget (sim/app/vega_view.vue) does too."""

_PACKAGE_IN_URL = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+)/")


def cache_folder() -> Path:
    """Where Solara's server looks for CDN files before fetching them (its proxy cache)."""
    import solara.server.settings

    return Path(solara.server.settings.assets.proxy_cache_dir)


def required_packages() -> list[str]:
    """The npm packages (name@version) that Solara's page template loads, for this Vue version."""
    import ipyvue
    import solara.server.server
    import solara.server.settings

    template = Path(solara.server.server.__file__).parent / "templates" / "solara.html.j2"
    found = dict.fromkeys(_PACKAGE_IN_URL.findall(template.read_text(encoding="utf-8")))
    vue3 = ipyvue.__version__.startswith("3")
    unused_app = "@widgetti/solara-vuetify-app@" if vue3 else "@widgetti/solara-vuetify3-app@"
    packages = [p for p in found if not p.startswith(unused_app)]
    fontawesome = solara.server.settings.assets.fontawesome_path.strip("/").split("/")[0]
    if solara.server.settings.assets.fontawesome_enabled and fontawesome not in packages:
        packages.append(fontawesome)
    return [*packages, *VEGA_PACKAGES]


def missing_packages() -> list[str]:
    """Required packages that are not in the cache folder yet."""
    folder = cache_folder()
    return [p for p in required_packages() if not (folder / p / "package.json").is_file()]


def fetch(packages: list[str], folder: Path) -> None:
    """Download packages with `npm pack` and unpack each into folder/name@version/."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="estate-sim-assets-") as tmp:
        for package in packages:
            done = subprocess.run([npm, "pack", package, "--silent"], cwd=tmp, check=True,
                                  capture_output=True, text=True)
            tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
            target = folder / package
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tarball) as archive:
                for member in archive.getmembers():
                    # npm tarballs keep every file under package/: strip that first folder
                    member.name = member.name.split("/", 1)[-1]
                    archive.extract(member, target, filter="data")
            print(f"cached {package} in {target}")


def main(argv: list[str] | None = None) -> int:
    """Fetch the missing assets (or, with --check, only report them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report what is missing")
    args = parser.parse_args(argv)
    missing = missing_packages()
    if not missing:
        print(f"Solara's web assets are all in {cache_folder()}")
        return 0
    if args.check:
        print("missing: " + ", ".join(missing))
        return 1
    try:
        fetch(missing, cache_folder())
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        print(f"could not fetch Solara's web assets: {detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
