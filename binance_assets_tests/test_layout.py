"""The layout's rules, checked on the code's own imports: dependencies point one way, the
environment is read in one place, and the exchange stand-in stays out of the product."""

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "binance_assets"
# Each layer may import only the layers after it.
LAYERS = ["defs", "lib", "resources", "settings", "errors"]


def imports(path: Path) -> set[str]:
    """Every module name ``path`` imports (absolute; relative imports resolved in their package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(path.relative_to(REPO).with_suffix("").parts[: -node.level])
                found.add(f"{base}.{node.module}" if node.module else base)
            else:
                found.add(node.module)
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "binance_assets" and len(parts) > 1 and parts[1] in LAYERS else None


def product_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_dependencies_point_one_way():
    backwards = []
    for path in product_files():
        layer = layer_of(".".join(path.relative_to(REPO).with_suffix("").parts))
        if layer is None:
            continue  # entry points (definitions, cli, setup, warehouse) may use every layer
        for module in imports(path):
            target = layer_of(module)
            if target is not None and LAYERS.index(target) < LAYERS.index(layer):
                backwards.append(f"{path.relative_to(REPO)} imports {module}")
    assert backwards == []


def test_dataset_folders_do_not_import_each_other():
    crossings = []
    for path in sorted((PACKAGE / "defs").rglob("*.py")):
        folder = path.relative_to(PACKAGE / "defs").parts[0]
        for module in imports(path):
            parts = module.split(".")
            if parts[:2] == ["binance_assets", "defs"] and len(parts) > 3 and parts[2] != folder:
                crossings.append(f"{path.relative_to(REPO)} imports {module}")
    assert crossings == []


def test_only_the_settings_module_reads_the_environment():
    readers = [
        str(path.relative_to(REPO))
        for path in product_files()
        if path.name != "settings.py" and ("os.environ" in path.read_text() or "getenv(" in path.read_text())
    ]
    assert readers == []


def test_the_stand_in_is_neither_shipped_nor_imported_by_the_product():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["binance_assets"]
    assert "binance_stand_in" not in (REPO / "Dockerfile").read_text()
    assert [p for p in product_files() if any(m.startswith("binance_stand_in") for m in imports(p))] == []
    stand_in = sorted((REPO / "binance_stand_in").rglob("*.py"))
    assert [p for p in stand_in if any(m.startswith("binance_assets") for m in imports(p))] == []


def test_test_modules_do_not_import_each_other():
    tests = sorted((REPO / "binance_assets_tests").rglob("test_*.py"))
    shared = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in tests
        for module in imports(path)
        if module.startswith("binance_assets_tests") and module.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert shared == []
