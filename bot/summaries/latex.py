"""LaTeX in abstracts, made readable before the offline summarizer quotes them.

arXiv abstracts are written by people who write LaTeX all day: `{\\bf mix-cd}`, `Schr\\"odinger`, `$\\varepsilon$`,
`\\[ 1C_\\tau \\leq … \\]`. Quoted raw, they make a TL;DR unreadable. Accents and symbols become their characters
(pylatexenc does the parsing), font commands go and leave their text, citations and references go, inline
math is rendered as text ("N ≥ 2", "10^31"), and display math is dropped: a formula block says nothing in a
one-sentence TL;DR.

Most abstracts contain no LaTeX at all and are returned untouched; characters that are ordinary in prose but
special in LaTeX ("12% faster", "R&D", "~10x", "$5") are kept as they were written.

The HF papers page, read as text, has lost LaTeX's backslashes and dollars ("mathcal{O}(T^{2/3})", "mathcal
O(epsilon^{-4})"): shown raw, the offline TL;DR read "mathcalO(T^2/3)". Spellings that prose never has get their
backslash back first. A superscript or subscript of several characters keeps its grouping ("T^(2/3)", not "T^2/3",
which reads as a third of T squared).
"""

from __future__ import annotations

import logging
import re

from pylatexenc import latex2text, latexwalker, macrospec

log = logging.getLogger(__name__)

# Something only LaTeX writes: a command (`\bf`, `\"o`, `\[`), a pair of dollar signs, a braced super/subscript.
_LATEX_HINT_RE = re.compile(r"\\[A-Za-z\"'`^~=.\[(]|\$[^$]+\$|[\^_]\{")
# What is left of LaTeX once its backslashes are gone, where prose never writes it: a math or font command glued
# to its brace or followed by one letter ("mathcal O"), a Greek letter glued to ^ or _; then, in such a text only,
# left and right glued to their delimiters ("mathcal{O}left(ε^{-3.5}right)").
_STRIPPED_COMMAND_RE = re.compile(
    r"(?<![\\A-Za-z])(mathcal|mathbb|mathbf|mathrm|mathit|mathsf|mathfrak|mathscr|boldsymbol|operatorname|textbf|"
    r"textit|textrm|frac|sqrt|widetilde|widehat|overline)(?=\{|\s[A-Za-z](?![A-Za-z]))")
_GREEK = r"alpha|beta|gamma|delta|epsilon|varepsilon|theta|kappa|lambda|sigma|tau|phi|omega|Delta|Theta|Omega"
_STRIPPED_GREEK_RE = re.compile(
    rf"(?<![\\A-Za-z])({_GREEK})(?=[\^_])|(?<=[\^_/=])({_GREEK}|infty)(?![A-Za-z])")
# symbols whose names are no English word ("|x|_infty leq 1/lambda")
_STRIPPED_SYMBOL_RE = re.compile(r"(?<![\\A-Za-z])(leq|geq|neq|infty|cdot|cdots|ldots|propto)(?![A-Za-z])")
_STRIPPED_DELIMITER_RE = re.compile(
    r"(?:(?<=[}\d)])|(?<=[^A-Za-z][A-Za-z]))left(?=[(\[|])|(?<=[}\d)])right(?=[)\]|])")
# ^{2/3}, _{i,j}, _{eff}: several characters, no command inside
_GROUPED_SCRIPT_RE = re.compile(r"([\^_])\{([^{}\\]{2,})\}([A-Za-z]?)")
_FONT_ON_MANY_RE = re.compile(r"\\(mathcal|mathbb|mathfrak|mathscr)\{((?:[^{}\\]|\{[^{}\\]*\}){2,})\}")
# A block ends before the next one opens: an abstract of unclosed "\[" must not be scanned to its end from each.
_DISPLAY_MATH_RE = re.compile(
    r"\$\$.*?\$\$|\\\[(?:(?!\\\[).)*?\\\]|\\begin\{(equation|align|eqnarray|gather|multline|displaymath)\*?\}"
    r"(?:(?!\\begin\{\1).)*?\\end\{\1\*?\}", re.DOTALL)
_UNESCAPED_RE = re.compile(r"(?<!\\)([%&#])")  # a comment, a table cell, a parameter in LaTeX; prose here
_APPROX_TILDE_RE = re.compile(r"(?<!\\)~(?=\s*\d)")  # "~10x" means about ten, not a tie
# Inline math as pandoc reads it: "$" then no space, no space before the closing "$", and no digit after it;
# so "from $5 to $10" stays money.
_INLINE_MATH_RE = re.compile(r"(?<!\\)\$(?=[^\s$])(?:[^$\\]|\\.){1,300}?(?<=[^\s\\])\$(?!\d)")
_DOLLAR_RE = re.compile(r"(?<!\\)\$")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"(?<!\s)\s+([.,;:!?)])")
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


def _restore_stripped(text: str) -> str:
    restored, commands = _STRIPPED_COMMAND_RE.subn(r"\\\1", text)
    # a script font over a whole formula ("mathcal{C_Phi/m}") is where the page lost the braces that closed it
    # after one letter: the formula as written, not in script letters
    restored = _FONT_ON_MANY_RE.sub(r"{\2}", restored)
    # "{}" ends the command where the text had it end, so the space after it stays
    restored, letters = _STRIPPED_GREEK_RE.subn(lambda m: "\\" + m.group(0) + "{}", restored)
    restored, symbols = _STRIPPED_SYMBOL_RE.subn(r"\\\1{}", restored)
    if not commands + letters + symbols:
        return text
    return _STRIPPED_DELIMITER_RE.sub(lambda m: "\\" + m.group(0), restored)


def _group_scripts(match: re.Match[str]) -> str:
    """^{2/3} as ^(2/3) (else it reads as a third of a square); _{eff} before a word as "_eff " (not "_efflog")."""
    mark, inner, after = match.group(1), match.group(2).strip(), match.group(3)
    if len(inner) < 2:
        return match.group(0)
    if not inner.isalnum():
        return f"{mark}({inner}){after}"
    return f"{mark}{{{inner}}}" + (f" {after}" if after else "")


def _protect(text: str) -> str:
    text = _GROUPED_SCRIPT_RE.sub(_group_scripts, text)
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
    text = _restore_stripped(text)
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
