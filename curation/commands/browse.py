"""`dfer-curate browse` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "browse (not built yet)"
EXAMPLE = "dfer-curate browse --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate browse is not built yet")
