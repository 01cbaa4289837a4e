"""LaTeX in abstracts, made readable before the offline summarizer quotes them.

arXiv abstracts are written by people who write LaTeX all day: `{\\bf mix-cd}`, `Schr\\"odinger`, `$\\varepsilon$`,
`\\[ 1C_\\tau \\leq … \\]`. Quoted raw, they make a TL;DR unreadable. Accents and symbols become their characters
(pylatexenc does the parsing), font commands go and leave their text, citations and references go, inline
math is rendered as text ("N ≥ 2", "10^31"), and display math is dropped: a formula block says nothing in a
one-sentence TL;DR.

Most abstracts contain no LaTeX at all and are returned untouched; characters that are ordinary in prose but
special in LaTeX ("12% faster", "R&D", "~10x", "$5") are kept as they were written.
"""

from __future__ import annotations

import logging
import re

from pylatexenc import latex2text, latexwalker, macrospec

log = logging.getLogger(__name__)

# Something only LaTeX writes: a command (`\bf`, `\"o`, `\[`) or a pair of dollar signs.
_LATEX_HINT_RE = re.compile(r"\\[A-Za-z\"'`^~=.\[(]|\$[^$]+\$")
_DISPLAY_MATH_RE = re.compile(
    r"\$\$.*?\$\$|\\\[.*?\\\]|\\begin\{(equation|align|eqnarray|gather|multline|displaymath)\*?\}.*?"
    r"\\end\{\1\*?\}", re.DOTALL)
_UNESCAPED_RE = re.compile(r"(?<!\\)([%&#])")  # a comment, a table cell, a parameter in LaTeX; prose here
_APPROX_TILDE_RE = re.compile(r"(?<!\\)~(?=\s*\d)")  # "~10x" means about ten, not a tie
# Inline math as pandoc reads it: "$" then no space, no space before the closing "$", and no digit after it;
# so "from $5 to $10" stays money.
_INLINE_MATH_RE = re.compile(r"(?<!\\)\$(?=[^\s$])(?:[^$\\]|\\.){1,300}?(?<=[^\s\\])\$(?!\d)")
_DOLLAR_RE = re.compile(r"(?<!\\)\$")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([.,;:!?)])")
_LEFTOVER_COMMAND_RE = re.compile(r"\\[A-Za-z]+\*?|\\(?=\W)")
_ORPHAN_BRACES_RE = re.compile(r"[{}]")

_DISCARDED = ("cite", "citep", "citet", "citealp", "citeauthor", "ref", "eqref", "autoref", "cref", "Cref",
              "label", "footnote", "url", "thanks")


def _contexts() -> tuple[macrospec.LatexContextDb, macrospec.LatexContextDb]:
    """The parser must know each macro's arguments, and the renderer what each one becomes."""
    parsing = latexwalker.get_default_latex_context_db()
    parsing.add_context_category("paperboy", prepend=True, macros=[
        macrospec.std_macro("href", False, 2), macrospec.std_macro("texttt", False, 1),
        macrospec.std_macro("deg", False, 0), macrospec.std_macro("citet", True, 1),
        macrospec.std_macro("citealp", True, 1), macrospec.std_macro("autoref", False, 1),
        macrospec.std_macro("cref", False, 1), macrospec.std_macro("Cref", False, 1),
        macrospec.std_macro("thanks", False, 1),
    ])
    rendering = latex2text.get_default_latex_context_db()
    rendering.add_context_category("paperboy", prepend=True, macros=[
        *(latex2text.MacroTextSpec(name, discard=True) for name in _DISCARDED),
        latex2text.MacroTextSpec("href", simplify_repl="%(2)s"),  # the words, never the link
        latex2text.MacroTextSpec("texttt", simplify_repl="%(1)s"),
        latex2text.MacroTextSpec("deg", simplify_repl="°"),
    ])
    return parsing, rendering


_PARSING, _RENDERING = _contexts()
_RENDERER = latex2text.LatexNodes2Text(math_mode="text", latex_context=_RENDERING, strict_latex_spaces=False)


def _protect(text: str) -> str:
    text = _UNESCAPED_RE.sub(r"\\\1", text)
    text = _APPROX_TILDE_RE.sub(r"\\textasciitilde{}", text)
    parts, last = [], 0
    for m in _INLINE_MATH_RE.finditer(text):  # every "$" outside inline math is money
        parts += [_DOLLAR_RE.sub(r"\\$", text[last:m.start()]), m.group(0)]
        last = m.end()
    parts.append(_DOLLAR_RE.sub(r"\\$", text[last:]))
    return "".join(parts)


def _fallback(text: str) -> str:
    """When the parser gives up: commands and braces go, the words stay."""
    return _ORPHAN_BRACES_RE.sub("", _LEFTOVER_COMMAND_RE.sub("", text.replace("$", "")))


def latex_to_text(text: str) -> str:
    if not _LATEX_HINT_RE.search(text):
        return text
    prose = _protect(_DISPLAY_MATH_RE.sub(" ", text))
    try:
        nodes, _, _ = latexwalker.LatexWalker(prose, latex_context=_PARSING, tolerant_parsing=True).get_latex_nodes()
        rendered = _RENDERER.nodelist_to_text(nodes)
    except Exception:  # pylatexenc is tolerant, but an abstract must never break a digest
        log.debug("LaTeX not understood; stripping commands instead", exc_info=True)
        rendered = _fallback(prose.replace("\\$", "$").replace("\\%", "%").replace("\\&", "&").replace("\\#", "#"))
    rendered = _ORPHAN_BRACES_RE.sub("", _LEFTOVER_COMMAND_RE.sub("", rendered))
    return _SPACE_BEFORE_PUNCT_RE.sub(r"\1", " ".join(rendered.replace("\u00a0", " ").split()))
