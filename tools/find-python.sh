#!/usr/bin/env bash
# Print the path of a Python >= 3.12: python3.13 / python3.12 on PATH first, then pyenv's.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for name in python3.13 python3.12 python3; do
    path=$(command -v "$name" 2>/dev/null) || continue
    if ok "$path"; then echo "$path"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for path in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
    if ok "$path"; then echo "$path"; exit 0; fi
done
echo "error: estate-sim needs Python >= 3.12 and none was found (tried python3.13, python3.12, python3 on PATH and $root/versions); install one, e.g. 'pyenv install 3.12'" >&2
exit 1
