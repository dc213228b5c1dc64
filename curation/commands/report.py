"""`dfer-curate report` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "report (not built yet)"
EXAMPLE = "dfer-curate report --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate report is not built yet")
