import sys

from flowphase.validation.cli import main

sys.exit(main())
