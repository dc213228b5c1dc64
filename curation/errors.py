"""Named exceptions. The CLI turns every CurationError into a clean message and exit code."""


class CurationError(Exception):
    """A problem the user can fix; the message says what and how."""

    exit_code = 2


class ManifestError(CurationError):
    """The manifest or a dataset's split files are malformed."""


class IngestError(CurationError):
    """Ingest found problems; ``problems`` is a DataFrame (file, row, problem, fix)."""

    def __init__(self, message, problems=None, summary: str | None = None):
        super().__init__(message)
        self.problems = problems
        self.summary = summary  # one line said before the table (e.g. most paths missing)


class VideoError(CurationError):
    """A video cannot be found, decoded or written."""


class RunError(CurationError):
    """The run directory lacks what a stage needs (the message names the command to run)."""


class ConfigError(CurationError):
    """A configuration value or checkpoint does not fit."""
