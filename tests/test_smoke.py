import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_validate_shipped_scenarios():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        proc = subprocess.run([sys.executable, "-m", "sim", "validate", str(path)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "ok" in proc.stdout
