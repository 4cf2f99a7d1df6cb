"""socksort.connect: the MQTT source connector and how it is registered.

The connector itself is Java (``src/``, built by ``pom.xml``); ``connector.py`` is the
config the stack registers, ``registration.py`` the Connect REST calls that register it
and read its state back. The stack that runs Connect is ``socksort.stack``.
"""
