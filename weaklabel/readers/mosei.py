"""CMU-MOSEI as distributed: ``Raw/Audio/Full/WAV_16000/<video>.wav`` and
``Raw/Transcript/Segmented/Combined/<video>.txt``.

Each transcript line is ``video___segment___start___end___text``, split on ``___`` at most four times
(the text itself may contain underscores). Some published start times are negative; they are clamped to
0 and the segment records that it was.
"""
from __future__ import annotations

from pathlib import Path

from weaklabel.errors import CorpusError
from weaklabel.segments import BAD_ENCODING, BAD_TRANSCRIPT_LINE, Segment, failed_segment, make_segment

AUDIO_SUBDIR = Path("Audio/Full/WAV_16000")
TRANSCRIPT_SUBDIR = Path("Transcript/Segmented/Combined")
FIELD_SEPARATOR = "___"


def find_raw_dir(root: str | Path) -> Path:
    """Return the ``Raw`` directory of a MOSEI copy given its parent or ``Raw`` itself.

    Raises
    ------
    CorpusError
        When neither ``root/Raw/Transcript/...`` nor ``root/Transcript/...`` exists.
    """
    root = Path(root)
    for candidate in (root / "Raw", root):
        if (candidate / TRANSCRIPT_SUBDIR).is_dir():
            return candidate
    raise CorpusError(
        f"{root} is not a CMU-MOSEI root: expected {root / 'Raw' / TRANSCRIPT_SUBDIR} "
        f"(or {root / TRANSCRIPT_SUBDIR} when {root} is Raw/ itself)"
    )


def parse_transcript_line(line: str, video_id: str, audio_path: str, line_number: int) -> Segment:
    """Parse one ``video___segment___start___end___text`` line into a :class:`Segment`.

    A line without five fields fails as :data:`BAD_TRANSCRIPT_LINE`, keyed by its line number.
    """
    fields = line.split(FIELD_SEPARATOR, 4)
    if len(fields) != 5:
        return failed_segment(
            video_id, f"{video_id}_line{line_number}", audio_path, BAD_TRANSCRIPT_LINE,
            f"line {line_number}: expected 5 '___'-separated fields, found {len(fields)}", text=line,
        )
    line_video, segment, start, end, text = (f.strip() if i < 4 else f for i, f in enumerate(fields))
    if not segment:
        return failed_segment(video_id, f"{video_id}_line{line_number}", audio_path, BAD_TRANSCRIPT_LINE,
                              f"line {line_number}: empty segment number", text=text)
    seg = make_segment(video_id, f"{video_id}_{segment}", audio_path, start, end, text.strip(), group_id=video_id)
    if line_video and line_video != video_id:
        seg.detail = "; ".join(x for x in (seg.detail, f"line names video {line_video!r}, file is {video_id!r}") if x)
    return seg


def read_mosei(root: str | Path) -> list[Segment]:
    """Read every transcript segment of a CMU-MOSEI copy.

    Parameters
    ----------
    root : path
        The folder holding ``Raw/`` (or ``Raw/`` itself).

    Returns
    -------
    list of Segment
        In file-name order, then line order; failures included with their status.
    """
    raw = find_raw_dir(root)
    audio_dir = raw / AUDIO_SUBDIR
    segments: list[Segment] = []
    for transcript in sorted((raw / TRANSCRIPT_SUBDIR).glob("*.txt")):
        video_id = transcript.stem
        audio_path = str((audio_dir / f"{video_id}.wav").resolve())
        for number, raw_line in enumerate(transcript.read_bytes().splitlines(), start=1):
            try:
                line = raw_line.decode("utf-8").lstrip("\ufeff").rstrip("\r")
            except UnicodeDecodeError as exc:
                segments.append(failed_segment(
                    video_id, f"{video_id}_line{number}", audio_path, BAD_ENCODING,
                    f"line {number}: not valid UTF-8 ({exc.reason} at byte {exc.start})",
                    text=raw_line.decode("utf-8", errors="replace"),
                ))
                continue
            if line.strip():
                segments.append(parse_transcript_line(line, video_id, audio_path, number))
    return segments
