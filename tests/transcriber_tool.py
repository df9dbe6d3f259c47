"""A speech-to-text command line for the SIP transcription tests, shaped as whisper.cpp's and vosk's tools are:
the WAV to read is its last argument, the transcript goes to standard output (UTF-8).

    python tests/transcriber_tool.py speak <wav>   checks <wav> is the call's audio, prints SENTENCE
    python tests/transcriber_tool.py fail <wav>    exits 3 with a message on standard error
    python tests/transcriber_tool.py hang <wav>    never finishes (the caller's time limit must stop it)

Every mode first checks what a real recogniser would need: an 8 kHz mono 16-bit WAV holding at least one second of
audio; anything else exits 2 and prints nothing.
"""
from __future__ import annotations

import sys
import time
import wave

SENTENCE = "Dạ đúng rồi, đây là đường dây nóng của sở, anh cần hỏi gì ạ"


def main(mode: str, path: str) -> int:
    with wave.open(path) as wav:
        shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
        seconds = wav.getnframes() / wav.getframerate()
    if shape != (8000, 1, 2) or seconds < 1:
        print(f"not the call's audio: {shape}, {seconds:.2f} s", file=sys.stderr)
        return 2
    if mode == "fail":
        print("model not found", file=sys.stderr)
        return 3
    if mode == "hang":
        time.sleep(3600)
    sys.stdout.buffer.write((SENTENCE + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[-1]))
