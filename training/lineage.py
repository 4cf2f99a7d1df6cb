"""What a model is made of, as the model store records it: the code version.

The code version is the package version plus a hash of the files whose change changes what
training produces (the training stage and the shared preprocessing and model card). A
change anywhere else (the dashboard, the edge) keeps every stored model's id valid, so
the run cache still finds them.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import socksort

TRAINING = Path(__file__).resolve().parent
SHARED = Path(socksort.__file__).resolve().parent
SHARED_FILES = ("preprocess.py", "modelcard.py", "images.py", "examples.py", "mxnet_block.py")


@lru_cache(maxsize=1)
def code_version() -> str:
    digest = hashlib.sha256()
    files = sorted(TRAINING.glob("*.py")) + [SHARED / name for name in SHARED_FILES]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{socksort.__version__}+{digest.hexdigest()[:12]}"
