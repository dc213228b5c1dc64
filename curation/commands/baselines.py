"""`dfer-curate baselines` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "baselines (not built yet)"
EXAMPLE = "dfer-curate baselines --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate baselines is not built yet")
