"""`dfer-curate bench` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "bench (not built yet)"
EXAMPLE = "dfer-curate bench --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate bench is not built yet")
