"""Text helpers for Vietnamese: accent folding so "dong thap" finds "Đồng Tháp"."""
import unicodedata


def fold(text: str | None) -> str:
    """Lower-case text without diacritics (đ → d), for search."""
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").lower()
