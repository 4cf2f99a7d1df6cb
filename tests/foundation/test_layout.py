"""The layout promises of DEVELOPERS.md: one CLI, stage import names, no shadowed `ksql`,
and who may import whom (read from the source, every import statement counted)."""

import ast
import subprocess
import sys
from pathlib import Path

import socksort.edge_lambda
import socksort.im2rec
import socksort.ksql
import socksort.training
from socksort import cli
from socksort.paths import ROOT

# Who may import whom, bottom up: socksort's shared modules import none of the rest; a
# stage imports shared modules only; the local stack adds the connector's definition; the
# application on top (the command table and the demo it lists) may import anything.
STAGE_FOLDERS = ("im2rec", "training", "edge_lambda", "connect", "ksql", "dashboard")
STAGES = tuple(f"socksort.{folder}" for folder in STAGE_FOLDERS)
STACK = "socksort.stack"
APPLICATION = ("socksort.cli", "socksort.__main__", "socksort.demo")
# A stage's published client of its wire format is no internal: the dashboard reads the
# ksql tables through the one ksqlDB REST client (issue 12: one client, not three).
PUBLISHED_CLIENTS = ("socksort.ksql.client",)


def module_name(path: Path) -> str:
    """The import name of a source file: stage folders are ``socksort.<stage>``."""
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts if parts[0] == "socksort" else ["socksort", *parts])


def production_modules() -> dict[str, Path]:
    files = [path for folder in ("socksort", *STAGE_FOLDERS) for path in (ROOT / folder).rglob("*.py")
             if "target" not in path.relative_to(ROOT).parts]
    return {module_name(path): path for path in files}


def imports_of(path: Path, module: str) -> set[str]:
    """Every module an import statement in ``path`` may load, wherever it stands."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, packages) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def test_bare_ksql_is_the_client_even_from_the_repository_root():
    out = subprocess.run([sys.executable, "-c", "import ksql; print(ksql.KSQLAPI.__module__)"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().startswith("ksql.")
    where = subprocess.run([sys.executable, "-c", "import ksql; print(ksql.__file__)"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "site-packages" in where


def test_stage_import_names_map_onto_top_level_folders():
    for module, folder in [(socksort.im2rec, "im2rec"), (socksort.training, "training"),
                           (socksort.edge_lambda, "edge_lambda"), (socksort.ksql, "ksql")]:
        assert Path(module.__file__).parent == ROOT / folder


def test_cli_reports_bad_input_in_one_line(run_cli):
    result = run_cli("--no-such-flag")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("socksort: error:")


def test_only_the_command_table_imports_the_demo():
    importers = {module for module, path in production_modules().items()
                 if any(within(name, ["socksort.demo"]) for name in imports_of(path, module))}
    assert importers == set()
    assert "socksort.demo" in cli.COMMANDS  # the command table loads it by name


def test_shared_modules_import_no_stage_nor_the_stack_nor_the_application():
    above = [*STAGES, STACK, *APPLICATION]
    reaching_up = {module: sorted(name for name in imports_of(path, module) if within(name, above))
                   for module, path in production_modules().items()
                   if within(module, ["socksort"]) and not within(module, above)}
    assert {module: names for module, names in reaching_up.items() if names} == {}


def test_the_stack_takes_only_the_connector_from_the_stages():
    others = [stage for stage in STAGES if stage != "socksort.connect"]
    reaching = {module: sorted(name for name in imports_of(path, module) if within(name, [*others, *APPLICATION]))
                for module, path in production_modules().items() if within(module, [STACK])}
    assert {module: names for module, names in reaching.items() if names} == {}


def test_a_stage_imports_no_other_stage_nor_the_stack_nor_the_application():
    crossing = {}
    for module, path in production_modules().items():
        own = next((stage for stage in STAGES if within(module, [stage])), None)
        if own is None:
            continue
        forbidden = [*(stage for stage in STAGES if stage != own), STACK, *APPLICATION]
        names = sorted(name for name in imports_of(path, module)
                       if within(name, forbidden) and not within(name, PUBLISHED_CLIENTS))
        if names:
            crossing[module] = names
    assert crossing == {}
