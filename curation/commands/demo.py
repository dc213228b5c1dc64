"""`dfer-curate demo` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "demo (not built yet)"
EXAMPLE = "dfer-curate demo --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate demo is not built yet")
