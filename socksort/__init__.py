"""socksort: teach a camera to recognise your socks and tell you which make a pair."""

__version__ = "0.1.0"
