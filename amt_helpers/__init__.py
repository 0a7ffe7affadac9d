"""amt_helpers: the machinery behind the AMT-with-NMF teaching notebooks.

One module per concept:

- :mod:`amt_helpers.audio`      loading, validating and transforming audio (STFT / ISTFT)
- :mod:`amt_helpers.notes`      the :class:`~amt_helpers.notes.Note` type, CSV and MIDI files
- :mod:`amt_helpers.data`       the built-in example pieces with exact ground truth
- :mod:`amt_helpers.sampler`    recorded pianos (npm sample sets) and a sampler that plays notes
- :mod:`amt_helpers.nmf`        multiplicative-update NMF (Lee & Seung 2000)
- :mod:`amt_helpers.templates`  harmonic pitch templates and score-informed activations
- :mod:`amt_helpers.sonify`     turning NMF components back into sound
- :mod:`amt_helpers.dictionary` learned piano templates on a log-frequency spectrogram
- :mod:`amt_helpers.transcribe` from audio and activations to notes
- :mod:`amt_helpers.evaluate`   mir_eval note- and frame-level metrics
- :mod:`amt_helpers.plot`       the figures of the lessons
- :mod:`amt_helpers.interactive` widgets that re-run a lesson's computation
- :mod:`amt_helpers.cli`        ``python -m amt_helpers`` / ``amt``

Submodules are imported explicitly (``from amt_helpers import nmf``) so that importing the
package stays cheap.
"""

__version__ = "0.1.0"
