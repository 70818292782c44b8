"""A plan's notes in both languages: English as the text, Indonesian kept beside it.

The notes a plan carries (what the data cannot decide, how the site candidates were
thinned, why the budget makes nothing ready) are read in the CLI, written to
``plan/summary.json`` and shown in the map's panel. A :class:`Note` is an ordinary string
(the English text, as the CLI and the JSON have always shown it) that also knows its
Indonesian text, so an Indonesian page shows no English sentence (:meth:`Note.text`).
"""

from __future__ import annotations

from despro.numbertext import fmt_number


class Note(str):
    """One note: ``str(note)`` is English; ``note.text("id")`` is Indonesian."""

    id_text: str

    def __new__(cls, en: str, id_: str) -> Note:
        obj = super().__new__(cls, en)
        obj.id_text = id_
        return obj

    def __reduce__(self):  # pickled with both texts (the step cache, forked writers)
        return (Note, (str(self), self.id_text))

    def text(self, lang: str) -> str:
        """The note in ``lang`` (``"id"`` or ``"en"``)."""
        return self.id_text if lang == "id" else str(self)


def note_text(note: str, lang: str) -> str:
    """A note in ``lang``: a :class:`Note`'s own translation, any other text as it is."""
    return note.text(lang) if isinstance(note, Note) else str(note)


def count_id(n: float) -> str:
    """A whole number with Indonesian thousands dots (``12.345``)."""
    return fmt_number(n, "id", 0)
