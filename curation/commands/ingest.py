"""`dfer-curate ingest` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "ingest (not built yet)"
EXAMPLE = "dfer-curate ingest --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate ingest is not built yet")
