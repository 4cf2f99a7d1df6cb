"""socksort.ksql: the pair-matching pipeline (ksql/*.ksql) and the embedded ksqlDB-compatible engine.

This folder is imported as ``socksort.ksql``.  The bare name ``ksql`` belongs to the
ksqlDB client library ``ksql-python-ng``; when Python finds this folder under that
name (a script run with the repository root as its working directory puts the root on
``sys.path``), hand the name back to the real client instead of shadowing it.
"""

if __name__ == "ksql":
    import importlib as _importlib
    import os as _os
    import sys as _sys

    _root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _root]
    del _sys.modules["ksql"]
    _sys.modules["ksql"] = _importlib.import_module("ksql")
