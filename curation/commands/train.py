"""`dfer-curate train` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "train (not built yet)"
EXAMPLE = "dfer-curate train --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate train is not built yet")
