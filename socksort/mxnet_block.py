"""The model artifact's MXNet network as a Gluon block, for every stage that runs it."""

from __future__ import annotations

from pathlib import Path

# MXNet (seconds to import) is imported where a block is loaded.


def import_block(folder: str | Path, input_name: str, ctx=None):
    """``model-symbol.json`` + ``model-0000.params`` of ``folder`` as a ``gluon.SymbolBlock``.

    What ``SymbolBlock.imports`` does, with the input declared float32 (the artifact's
    input type, docs/model-artifact.md): ``imports`` leaves it undeclared when it loads
    parameters, so Gluon guesses float32 itself after a three-line UserWarning on every
    load that nobody running a model can act on. Loading errors are MXNet's (MXNetError,
    ValueError, AssertionError), for the caller to name the folder.
    """
    import mxnet as mx

    folder = Path(folder)
    symbol = mx.sym.load(str(folder / "model-symbol.json"))
    block = mx.gluon.SymbolBlock(symbol, [mx.sym.var(input_name, dtype="float32")])
    block.collect_params().load(str(folder / "model-0000.params"), ctx or mx.cpu(), cast_dtype=True,
                                dtype_source="saved")
    return block
