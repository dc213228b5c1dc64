"""`dfer-curate export` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "export (not built yet)"
EXAMPLE = "dfer-curate export --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate export is not built yet")
