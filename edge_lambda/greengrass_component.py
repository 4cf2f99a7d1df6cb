"""Greengrass v2 entry: the component's Run script (see greengrass/recipe.json).

The component artifact is the same zip as the v1 Lambda, unarchived by the nucleus; this
file sits at its root. The recipe passes its configuration as SOCKSORT_* variables, which
win over the bundled edge-config.json. The nucleus gives a component AWS_IOT_THING_NAME
and an IPC socket, so the loop publishes each prediction to IoT Core through the v2 IPC
client (PublishToIoTCore on ``$aws/things/<thing>/infer``) besides any MQTT broker.
"""

from __future__ import annotations

import sys
from pathlib import Path

BUNDLE = Path(__file__).resolve().parent


def main() -> int:
    if str(BUNDLE) not in sys.path:
        sys.path.insert(0, str(BUNDLE))
    # Only now is the bundle's vendored socksort importable.
    from socksort.edge_lambda import lambda_function
    lambda_function.apply_settings(BUNDLE)
    return lambda_function.run()


if __name__ == "__main__":
    sys.exit(main())
