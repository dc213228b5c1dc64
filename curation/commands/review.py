"""`dfer-curate review` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "review (not built yet)"
EXAMPLE = "dfer-curate review --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate review is not built yet")
