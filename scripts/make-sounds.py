#!/usr/bin/env python3
"""Writes the alarm's bundled sounds, src-tauri/sounds/{alert,urgent}.wav.

Both are made from scratch here (sums of sines with short fades, 22.05 kHz mono 16-bit), so
they carry no one else's rights; see src-tauri/sounds/LICENSE. Each file is one cycle that
the app loops. Run it again after changing a parameter and commit the result.
"""
import math
import os
import struct
import wave

RATE = 22050
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "src-tauri", "sounds"))


def tone(freqs, seconds, amplitude, fade=0.008):
    """A chord of sine waves (with a few odd harmonics for bite) and short fades."""
    n = int(RATE * seconds)
    f = int(RATE * fade)
    out = []
    for i in range(n):
        t = i / RATE
        v = 0.0
        for freq, harmonics in freqs:
            for k in range(1, harmonics * 2, 2):
                v += math.sin(2 * math.pi * freq * k * t) / k
        v /= sum(sum(1 / k for k in range(1, h * 2, 2)) for _, h in freqs)
        env = min(1.0, i / f, (n - 1 - i) / f) if f else 1.0
        out.append(v * env * amplitude)
    return out


def silence(seconds):
    return [0.0] * int(RATE * seconds)


def write(name, samples):
    path = os.path.join(OUT, name)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1, min(1, s)) * 32767)) for s in samples))
    print(f"{path}: {os.path.getsize(path)} bytes, {len(samples) / RATE:.2f} s")


def main():
    os.makedirs(OUT, exist_ok=True)
    # Alert: a two-tone chime (high, low), a pause, twice; about 2.2 s a cycle.
    hi = tone([(880, 2), (1320, 1)], 0.35, 0.8)
    lo = tone([(660, 2), (990, 1)], 0.35, 0.8)
    alert = hi + silence(0.05) + lo + silence(0.35) + hi + silence(0.05) + lo + silence(0.7)
    write("alert.wav", alert)
    # Urgent: fast, harsh square-ish beeps alternating pitch, no rest; about 1.2 s a cycle.
    a = tone([(1400, 6)], 0.09, 0.95, fade=0.003)
    b = tone([(1050, 6)], 0.09, 0.95, fade=0.003)
    gap = silence(0.03)
    urgent = (a + gap + b + gap) * 4 + silence(0.24)
    write("urgent.wav", urgent)


if __name__ == "__main__":
    main()
