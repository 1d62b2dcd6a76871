import sys

from flexsim.cli import main

sys.exit(main())
