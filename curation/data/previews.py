"""Which videos a browser plays as they are, and the cached H.264 preview of the others.

One policy for every viewer (the FiftyOne push and the review dashboard): a source plays as
it is when it is H.264 in yuv420p inside an mp4/m4v/mov container; any other video, and
every frame folder, is shown through ``RunDir.preview(video_id)``, rendered once with
:func:`curation.data.video.write_mp4` and again only when the source is newer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curation.data.video import VideoInfo, probe_video, read_video, write_mp4

PLAYABLE_CONTAINERS = (".mp4", ".m4v", ".mov")
PLAYABLE_CODECS = ("h264",)
PLAYABLE_PIX_FMTS = ("yuv420p", "yuvj420p")
FOLDER_FPS = 16  # frame rate of previews rendered from frame folders (they state none)


def is_playable(suffix: str, codec: str, pix_fmt: str) -> bool:
    """True when browsers play a file with this extension, codec and pixel format as it is."""
    return (suffix.lower() in PLAYABLE_CONTAINERS and codec in PLAYABLE_CODECS
            and pix_fmt in PLAYABLE_PIX_FMTS)


@dataclass(frozen=True)
class Shown:
    """The file a viewer shows for a video, its probe, and how it was got:
    "source" (played as it is), "cached" (an up-to-date preview) or "rendered" (just now)."""

    path: Path
    info: VideoInfo
    how: str


def shown_file(run, video_id: str, source, *, folder_fps: int = FOLDER_FPS) -> Shown:
    """The source when it is playable, else its preview in ``run.preview(video_id)``
    (``run`` is a RunDir), rendered at the source's frame rate when missing or older than
    the source. VideoError when the source cannot be read."""
    source = Path(source)
    if source.is_file():
        info = probe_video(source)
        if is_playable(source.suffix, info.codec, info.pix_fmt):
            return Shown(source, info, "source")
        fps = info.fps or FOLDER_FPS
    else:
        fps = folder_fps
    out = run.preview(video_id)
    if out.exists() and out.stat().st_mtime >= source.stat().st_mtime:
        return Shown(out, probe_video(out), "cached")
    write_mp4(out, read_video(source), fps=max(1, int(round(fps))))
    return Shown(out, probe_video(out), "rendered")
