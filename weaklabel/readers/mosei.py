"""CMU-MOSEI as distributed: ``Raw/Audio/Full/WAV_16000/<video>.wav`` and
``Raw/Transcript/Segmented/Combined/<video>.txt``.

Each transcript line is ``video___segment___start___end___text``, split on ``___`` at most four times
(the text itself may contain underscores). Some published start times are negative; they are clamped to
0 and the segment records that it was.
"""
from __future__ import annotations

from pathlib import Path

from foundation.paths import require_regular_file, resolved_path
from weaklabel.errors import CorpusError
from weaklabel.readers.text_bytes import decode_lines, has_undecodable, repaired_note, shown_with_replacements
from weaklabel.segments import BAD_ENCODING, BAD_TRANSCRIPT_LINE, Segment, failed_segment, make_segment

AUDIO_SUBDIR = Path("Audio/Full/WAV_16000")
TRANSCRIPT_SUBDIR = Path("Transcript/Segmented/Combined")
VIDEO_SUBDIR = Path("Videos/Full/Combined")  # the published videos, used when a recording has no WAV
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
        In file-name order, then line order; failures included with their status. The audio of video
        ``v`` is ``Raw/Audio/Full/WAV_16000/v.wav``, or, when that is absent, the published video
        ``Raw/Videos/Full/Combined/v.mp4`` (decoded through FFmpeg). A line in a legacy encoding is decoded
        (:mod:`weaklabel.readers.text_bytes`) with a note in ``detail``; one whose bytes still do not decode
        fails as :data:`BAD_ENCODING`, as does every transcript whose file name is not valid UTF-8.
    """
    raw = find_raw_dir(root)
    audio_dir = raw / AUDIO_SUBDIR
    segments: list[Segment] = []
    for transcript in sorted((raw / TRANSCRIPT_SUBDIR).glob("*.txt")):
        video_id = transcript.stem
        if has_undecodable(video_id):
            shown = shown_with_replacements(video_id)
            segments.append(failed_segment(shown, f"{shown}_line0", None, BAD_ENCODING,
                                           f"file name {shown_with_replacements(transcript.name)!r} is not valid "
                                           "UTF-8: rename it (and its audio) to UTF-8"))
            continue
        audio = audio_dir / f"{video_id}.wav"
        if not audio.exists() and (raw / VIDEO_SUBDIR / f"{video_id}.mp4").is_file():
            audio = raw / VIDEO_SUBDIR / f"{video_id}.mp4"
        audio_path = resolved_path(audio)
        try:
            require_regular_file(transcript)  # a FIFO named like a transcript would block the read
            data = transcript.read_bytes()
        except OSError as exc:
            segments.append(failed_segment(video_id, f"{video_id}_line0", audio_path, BAD_TRANSCRIPT_LINE,
                                           f"cannot read the transcript: {exc}"))
            continue
        decoded = decode_lines(data.splitlines())
        for index, line in enumerate(decoded.lines):
            number = index + 1
            line = line.lstrip("\ufeff").rstrip("\r")
            if has_undecodable(line):
                segments.append(failed_segment(
                    video_id, f"{video_id}_line{number}", audio_path, BAD_ENCODING,
                    f"line {number}: bytes that are neither UTF-8 nor {decoded.encoding}; re-save the file as UTF-8",
                    text=shown_with_replacements(line),
                ))
                continue
            if line.strip():
                seg = parse_transcript_line(line, video_id, audio_path, number)
                if index in decoded.repaired:
                    seg.detail = "; ".join(x for x in (seg.detail, f"line {number}: {repaired_note(decoded.encoding)}")
                                           if x)
                segments.append(seg)
    return segments
