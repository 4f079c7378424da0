"""Known vulnerabilities in requirements.lock: fails (exit 1) on one that has a fixed release,
and on a lock that misses a dependency pyproject.toml declares. Run by scripts/audit.

pip-audit asks PyPI about each pinned release. Where PyPI answers only for a project's page
(a mirror without the per-release JSON), a project page's vulnerabilities are those of its
latest release: exact for a pin that is the latest, so those pins are audited from there.
A pin that is neither is named as not audited (a warning, not a failure)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFRESH = "uv pip compile pyproject.toml --extra test --python-version 3.11 -o requirements.lock"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(lock: Path) -> dict[str, str]:
    return {normalize(n): v for n, v in re.findall(r"(?m)^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", lock.read_text())}


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project.get("optional-dependencies", {}).get("test", [])
    return {normalize(re.match(r"[A-Za-z0-9._-]+", r).group(0)) for r in requirements}


def pip_audit(pip_audit_bin: str, lock: Path) -> list[dict]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        # --no-deps --disable-pip: the lock pins everything, so nothing is resolved or installed.
        run = subprocess.run([pip_audit_bin, "--requirement", str(lock), "--no-deps", "--disable-pip",
                              "--progress-spinner", "off", "--format", "json", "--output", out.name],
                             capture_output=True, text=True)
        if run.returncode not in (0, 1):  # 1: vulnerabilities found
            sys.exit(f"pip-audit failed:\n{run.stderr}")
        return json.loads(Path(out.name).read_text())["dependencies"]


def project_page(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as response:
            return json.load(response)
    except OSError:
        return None


def main(pip_audit_bin: str, lock_path: str) -> int:
    lock = ROOT / lock_path
    pins = read_pins(lock)
    missing = sorted(declared() - set(pins))
    if missing:
        print(f"{lock.name} lacks {', '.join(missing)} (pyproject.toml declares them). Refresh it: {REFRESH}")
        return 1

    found: dict[str, list[tuple[str, list[str]]]] = {}
    skipped = []
    for dep in pip_audit(pip_audit_bin, lock):
        if "skip_reason" in dep:
            skipped.append(normalize(dep["name"]))
        else:
            found[normalize(dep["name"])] = [(v["id"], v.get("fix_versions", [])) for v in dep["vulns"]]
    not_audited = []
    with ThreadPoolExecutor(8) as pool:
        for name, page in zip(skipped, pool.map(project_page, skipped)):
            if page is not None and page["info"]["version"] == pins[name]:
                found[name] = [(v["id"], v.get("fixed_in") or []) for v in page.get("vulnerabilities", [])
                               if not v.get("withdrawn")]
            else:
                latest = page["info"]["version"] if page else "PyPI unreachable"
                not_audited.append(f"{name}=={pins[name]} (latest {latest})")

    fixable = [(n, i, f) for n, vulns in sorted(found.items()) for i, f in vulns if f]
    unfixed = [(n, i) for n, vulns in sorted(found.items()) for i, f in vulns if not f]
    print(f"{len(found)} of {len(pins)} locked releases audited, {len(fixable) + len(unfixed)} known vulnerabilities")
    for name, vuln, fixes in fixable:
        print(f"  FIX AVAILABLE  {name}=={pins[name]}  {vuln}  fixed in {', '.join(fixes)}")
    for name, vuln in unfixed:
        print(f"  no fix yet     {name}=={pins[name]}  {vuln}")
    if not_audited:
        print("  not audited (PyPI answered for neither this release nor it as the latest): "
              + "; ".join(not_audited))
    if fixable:
        print(f"Bump them in {lock.name}: uv pip compile … --upgrade-package NAME (README, 'Dependencies')")
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
