"""The package layout DESIGN.md and the README describe is the tree's: every package is in the
README's "code in ten lines", and imports run one way (no arrow back up, no import by string)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hakama"

#: What each layer may import of hakama (DESIGN.md: cli → http → jobs → reports → services →
#: {storage, analytics, ingest} → core). settings is read everywhere.
ALLOWED = {
    "core": {"core"},
    "ingest": {"core", "ingest"},
    "storage": {"core", "storage", "settings"},
    "analytics": {"core", "storage", "analytics", "settings"},
}
NEVER_FROM_BELOW = {"services", "jobs", "http", "cli", "reports", "demo"}


def hakama_imports(path: Path) -> set[str]:
    """The top-level hakama packages a module imports (its own imports, at any depth)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "hakama" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_lower_layers_never_import_upwards() -> None:
    wrong: list[str] = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for imported in hakama_imports(path) - allowed:
                wrong.append(f"{path.relative_to(ROOT)} imports hakama.{imported}")
    assert not wrong, "\n".join(wrong)


def test_services_never_import_jobs_or_front_ends() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports hakama.{imported}"
        for path in sorted((PACKAGE / "services").rglob("*.py"))
        for imported in hakama_imports(path) & {"jobs", "http", "cli"}
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_by_string() -> None:
    """Modules of hakama are imported by name; importlib only loads optional third parties."""
    users = [
        str(path.relative_to(ROOT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if re.search(r"import_module\(\s*[\"']hakama|find_spec\(\s*[\"']hakama", path.read_text())
    ]
    assert not users, users


def test_readme_layout_matches_the_tree() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## The code in ten lines", 1)[1].split("```")[1]
    described = set(re.findall(r"^hakama/(\w+)/", block, re.M))
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert described == packages
    assert packages >= NEVER_FROM_BELOW


def test_request_types_and_open_data_catalogue_have_distinct_names() -> None:
    """Open311 services are "request types" (core/, services/ and the back-office editor); the
    open-data catalogue is "datasets". No module carries a name that could mean either."""
    stems = {p.stem for p in PACKAGE.rglob("*.py")}
    assert {"request_types", "datasets"} <= stems
    confusable = sorted(s for s in stems if "services_catalog" in s or "service_catalog" in s)
    assert not confusable, confusable
    assert not [s for s in stems if "catalogue" in s]


def test_one_way_to_get_the_platform() -> None:
    """Routers take `PlatformDep`, helpers `platform_of(request)`: nothing else reads app.state."""
    allowed = {"http/deps.py", "http/app.py", "http/background.py", "http/auth.py"}
    readers = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "app.state.platform" in path.read_text()
        and str(path.relative_to(PACKAGE)) not in allowed
    ]
    assert not readers, readers


def test_the_lake_module_opens_every_duckdb_connection() -> None:
    """storage/lake.py is the one owner of DuckDB connections (analytics goes through Ibis)."""
    openers = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if re.search(r"(?<!ibis\.)duckdb\.connect\(", path.read_text())
        and path.relative_to(PACKAGE).as_posix() != "storage/lake.py"
    ]
    assert not openers, openers


def test_tests_mirror_the_package() -> None:
    """Every folder of tests/ is named after a package of hakama (or holds browser tests or data)."""
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    folders = {
        p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and not p.name.startswith("__")
    }
    assert folders - packages <= {"browser", "data"}, sorted(folders - packages - {"browser", "data"})


def test_no_module_over_600_lines() -> None:
    """A module past 600 lines is split at its seam, not left to grow (issue 11)."""
    long = {
        str(path.relative_to(ROOT)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > 600
    }
    assert not long, long


def test_one_csrf_check_never_called_by_hand() -> None:
    """CSRF is one dependency (http/deps.py `require_csrf`: the app's guard on every session
    write, `CsrfDep` on the forms anonymous callers post); no handler reads a form's token or
    checks one itself."""
    by_hand = [
        str(path.relative_to(PACKAGE))
        for path in sorted((PACKAGE / "http").rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() not in {"http/deps.py", "http/auth.py"}
        and re.search(
            r"\b(check_csrf|verify_csrf)\(|\w\([^()]*[\"'](csrf_token|x-csrf-token)[\"']",
            path.read_text(),
            re.I,
        )
    ]
    assert not by_hand, by_hand


def test_one_way_off_the_event_loop() -> None:
    """Routers and middleware run blocking work through `http.offload` (`run_blocking`,
    `OffloadDep`); only the jobs' supervisor (http/background.py) uses the loop's own pool."""
    direct = [
        str(path.relative_to(PACKAGE))
        for path in sorted((PACKAGE / "http").rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() not in {"http/offload.py", "http/background.py"}
        and re.search(
            r"to_thread\.|run_in_threadpool|run_in_executor|anyio\.to_thread", path.read_text()
        )
    ]
    assert not direct, direct
