__version__ = "0.1.0"

import logging as _logging

# A library logs; the command line decides where logs go. Without this,
# Python would print engine warnings to stderr at random.
_logging.getLogger("sinkbench").addHandler(_logging.NullHandler())
