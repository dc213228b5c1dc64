"""`dfer-curate score` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "score (not built yet)"
EXAMPLE = "dfer-curate score --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate score is not built yet")
