"""Names and defaults that several wings share, defined once (importing this costs nothing).

The scenario model, the loader, the engines, the analyses and the command line all take them from
here, so that a default written in a scenario file, chosen on the command line or passed to the
Python API is the same one.
"""

from __future__ import annotations

DEFAULT_POOL = "main"  # the pool of a pack, person or top-up rule that names none

ENGINES = ("simpy", "fast", "auto")  # simpy: the model of record; fast: same results, quicker
DEFAULT_ENGINE = "auto"  # the fast engine (it covers every rule)

# What `flexsim optimize` minimises: the expected total cost (purchases + blocked days priced at
# costs.blocked_day), or the size within a run-out limit (service).
OBJECTIVES = ("cost", "service")
DEFAULT_OBJECTIVE = "cost"
