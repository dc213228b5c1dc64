"""`dfer-curate push` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "push (not built yet)"
EXAMPLE = "dfer-curate push --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate push is not built yet")
