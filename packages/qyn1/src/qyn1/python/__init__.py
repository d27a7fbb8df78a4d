"""The Python language model: structural codec for Python source: a lossless lexer, homogeneous streams, context-conditioned rANS.

Why a regex lexer rather than ``ast``/``tokenize``: ``ast`` drops comments and layout, and ``tokenize`` is
slow (pure Python), rejects some files and needs exact position bookkeeping to be lossless. The lexer here
uses ``tokenize``'s token classes (names, numbers, strings with prefixes, comments, operators, newlines)
in one compiled pattern whose alternatives cover every character, so the token texts concatenate back to
the input by construction -- any text "parses", deliberately invalid files included. Each chunk is still
decoded once by the encoder and compared with its input before the structural form is accepted; a file
that is not UTF-8 (or fails that check) takes the byte-level path.

Streams (each rANS-coded with a shipped table; see ``qyn1.tables`` and docs/qyn1.md for the contexts):

* ``kinds``: one symbol per token (keywords, operators, newline flavours and the 32 most frequent names
  are their own kinds; NAME, NUMBER, STRING, COMMENT, ERR, EOF otherwise), order-3 context (previous kind,
  classes of the two before it, inside brackets) and a match model (``qyn1.match``).
* ``ws_mid``/``ws_line``: the whitespace before every token. Mid-line: a space count given (class of
  previous kind, class of next kind, inside brackets). Line start: the indentation change against the
  previous code line given (previous line ended with ':', inside brackets, blank/comment/code line, class of
  the line's first token).
* ``strkind``: prefix and quote of each string given the previous kind's class, with a match model.
* ``text0/1/2``: bodies of single-quoted strings, triple-quoted strings and comments: UTF-8 bytes with an
  order-3 model and a match model, where every ASCII word is replaced by a WORD marker and coded as a name.
* ``names``: every identifier, number and text word, in order: NEW, SUCC1/SUCC2 (the name that followed the
  previous name before), a move-to-front rank among the names seen in the same role, or ESC + the rank among
  all names (``names._name_symbols``; decoded by ``names.decode_names``). NEW names are spelled in ``morph0..5`` (one
  stream per role) through the *morpheme table*: the whole name if it is in the table, else its
  snake_case/camelCase parts, the 4,096 most frequent entries by symbol, the rest by tier (``morphx`` holds
  the index in the tier), unknown parts spelled byte by byte (``spell``, order 3 + match model).

Modules, one per stream with its encoder beside its decoder: ``tokens`` (lexer, kinds, vocabulary),
``layout`` (whitespace), ``text`` (string and comment bodies), ``names`` (names, morphemes, spelled items),
``assemble`` (the decoder's detokeniser), ``pipeline`` (a chunk: :func:`encode_text`, :func:`decode_text`),
``scan`` (the encoder's analysis compiled: the lexer, kinds, texts, names), ``reference`` (its slow twin),
``train`` (the tables).
"""

from qyn1.python.pipeline import decode_text, decode_texts, encode_text

__all__ = ["decode_text", "decode_texts", "encode_text"]
