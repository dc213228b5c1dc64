"""`dfer-curate synth` (placeholder until its owner writes it)."""

from curation.errors import CurationError

HELP = "synth (not built yet)"
EXAMPLE = "dfer-curate synth --help"


def add_arguments(parser):
    pass


def run(args):
    raise CurationError("dfer-curate synth is not built yet")
