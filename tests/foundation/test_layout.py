"""The layout promises of DEVELOPERS.md: one CLI, stage import names, no shadowed `ksql`."""

import subprocess
import sys

from socksort.paths import ROOT


def test_bare_ksql_is_the_client_even_from_the_repository_root():
    out = subprocess.run([sys.executable, "-c", "import ksql; print(ksql.KSQLAPI.__module__)"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().startswith("ksql.")
    where = subprocess.run([sys.executable, "-c", "import ksql; print(ksql.__file__)"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "site-packages" in where


def test_stage_import_names_map_onto_top_level_folders():
    import socksort.edge_lambda
    import socksort.im2rec
    import socksort.ksql
    import socksort.training
    from pathlib import Path
    for module, folder in [(socksort.im2rec, "im2rec"), (socksort.training, "training"),
                           (socksort.edge_lambda, "edge_lambda"), (socksort.ksql, "ksql")]:
        assert Path(module.__file__).parent == ROOT / folder


def test_cli_reports_bad_input_in_one_line(run_cli):
    result = run_cli("--no-such-flag")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("socksort: error:")
