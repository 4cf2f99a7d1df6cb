import sys

from socksort.cli import main

sys.exit(main())
