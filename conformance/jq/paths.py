"""Which document paths a jq expression reads, found from its text.

A small static analysis of the jq subset Karta definitions use: field access
(``.a.b``, ``."a"``, ``.["a"]``), iteration (``[]``, ``[0]``), optional
``?``, pipes, ``,``, alternatives and other binary operators, parentheses,
string interpolation and formats (``"\\(.a)"``, ``@json``, ``@sh "..."``),
``select(...)``, ``map(...)``, ``if ... then ... else ... end``, literals and
builtin calls. It is used to check that every path a definition reads on the
root object exists in the CRD's OpenAPI schema, without needing a document
where the field happens to be set.

Paths are tuples of steps: a field name, or ``ANY`` for an array element.
Constructs it does not follow (object construction, ``reduce``, variables)
end a path there, so the analysis never invents a path.
"""

from __future__ import annotations

from conformance.jq.lex import JqLexError, Token, tokens

ANY = "[]"
Path = tuple[str, ...]

_BINARY_OPS = {"//", "?//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "and", "or", "="}
MAX_DEPTH = 48  # nested parentheses, brackets and calls the analysis follows


class NotAnalysed(ValueError):
    """An expression this analysis does not read (it may still be valid jq); the claim says so."""


def _tokens(text: str) -> list[Token]:
    try:
        return tokens(text)
    except JqLexError as error:
        raise NotAnalysed(str(error)) from None


class _Reader:
    def __init__(self, tokens: list[Token], accessed: set[Path] | None = None, depth: int = 0) -> None:
        self.tokens = tokens
        self.index = 0
        self.accessed: set[Path] = set() if accessed is None else accessed
        self.depth = depth

    def strings(self, token: Token, inputs: set[Path]) -> None:
        """What a string's interpolations read (each reads the string's input)."""
        for part in token.parts:
            inner = _Reader(part, self.accessed, self.depth + 1)
            inner.pipeline(inputs)
            self.accessed |= inner.accessed

    def peek(self, offset: int = 0) -> Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_text(self, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token.text in texts and token.kind in ("op", "ident")

    # pipeline := comma ('|' comma)*
    def pipeline(self, inputs: set[Path]) -> set[Path]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NotAnalysed(f"nested deeper than {MAX_DEPTH} levels")
        current = self.comma(inputs)
        while self.at_text("|"):
            self.take()
            current = self.comma(current)
        self.depth -= 1
        return current

    # comma := binary (',' binary)*
    def comma(self, inputs: set[Path]) -> set[Path]:
        outputs = self.binary(inputs)
        while self.at_text(","):
            self.take()
            outputs = outputs | self.binary(inputs)
        return outputs

    # binary := postfix (op postfix)*  -- every operand reads the same input
    def binary(self, inputs: set[Path]) -> set[Path]:
        outputs = self.postfix(inputs)
        while True:
            token = self.peek()
            if token is None or token.text not in _BINARY_OPS:
                return outputs
            self.take()
            right = self.postfix(inputs)
            # The alternative operator may still yield a path of its left side.
            outputs = outputs | right if token.text == "//" else set()

    def postfix(self, inputs: set[Path]) -> set[Path]:
        current = self.primary(inputs)
        while True:
            token = self.peek()
            if token is None:
                return current
            if token.kind == "field":
                self.take()
                current = self.step(current, token.text[1:])
            elif token.text == "?":
                self.take()
            elif token.text == "[":
                current = self.bracket(current, inputs)
            elif token.kind == "dot" and self.peek(1) is not None and self.peek(1).kind == "string":  # type: ignore[union-attr]
                self.take()
                key = self.take()
                if key.interpolated:  # a computed key: read what it reads, stop the path here
                    self.strings(key, inputs)
                    current = set()
                else:
                    current = self.step(current, key.text)
            elif token.kind == "dot" and self.peek(1) is not None and self.peek(1).text == "[":  # type: ignore[union-attr]
                self.take()
            else:
                return current

    def step(self, paths: set[Path], name: str) -> set[Path]:
        result = {(*path, name) for path in paths}
        self.accessed |= result
        return result

    def bracket(self, current: set[Path], inputs: set[Path]) -> set[Path]:
        self.take()  # [
        if self.at_text("]"):
            self.take()
            return self.step(current, ANY)
        first, second = self.peek(), self.peek(1)
        if first is not None and second is not None and second.text == "]":
            if first.kind == "string" and not first.interpolated:
                self.index += 2
                return self.step(current, first.text)
            if first.kind == "number":
                self.index += 2
                return self.step(current, ANY)
        # A computed index or a slice: read what it reads, stop the path here.
        self.skip_balanced("[", "]", inputs)
        return set()

    def skip_balanced(self, opening: str, closing: str, inputs: set[Path]) -> None:
        depth = 1
        start = self.index
        while self.peek() is not None and depth:
            token = self.take()
            if token.text == opening and token.kind == "op":
                depth += 1
            elif token.text == closing and token.kind == "op":
                depth -= 1
        del start, inputs

    def args(self, inputs: set[Path]) -> list[set[Path]]:
        results: list[set[Path]] = []
        if not self.at_text("("):
            return results
        self.take()
        while True:
            results.append(self.pipeline(inputs))
            if self.at_text(";"):
                self.take()
                continue
            if self.at_text(")"):
                self.take()
            return results

    def primary(self, inputs: set[Path]) -> set[Path]:
        token = self.peek()
        if token is None:
            return set()
        if token.kind == "field":
            self.take()
            return self.step(inputs, token.text[1:])
        if token.kind == "dot":
            self.take()
            following = self.peek()
            if following is not None and following.kind == "string":
                self.take()
                if following.interpolated:
                    self.strings(following, inputs)
                    return set()
                return self.step(inputs, following.text)
            return set(inputs)
        if token.kind == "recurse":
            self.take()
            return set()
        if token.kind == "string":
            self.strings(self.take(), inputs)
            return set()
        if token.kind == "format":  # @json, @sh, @base64 ... optionally applied to a string
            self.take()
            following = self.peek()
            if following is not None and following.kind == "string":
                self.strings(self.take(), inputs)
            return set()
        if token.kind in ("number", "var"):
            self.take()
            return set()
        if token.text == "(":
            self.take()
            result = self.pipeline(inputs)
            if self.at_text(")"):
                self.take()
            return result
        if token.text == "[":
            self.take()
            if not self.at_text("]"):
                self.pipeline(inputs)
            if self.at_text("]"):
                self.take()
            return set()
        if token.text == "{":
            self.take()
            self.skip_balanced("{", "}", inputs)
            return set()
        if token.text == "-":
            self.take()
            self.postfix(inputs)
            return set()
        if token.kind == "ident":
            return self.call(inputs)
        self.take()
        return set()

    def call(self, inputs: set[Path]) -> set[Path]:
        name = self.take().text
        if name == "if":
            self.pipeline(inputs)
            outputs: set[Path] = set()
            while self.at_text("then", "elif", "else"):
                word = self.take().text
                branch = self.pipeline(inputs)
                if word != "elif":
                    outputs |= branch
            if self.at_text("end"):
                self.take()
            return outputs
        if name in (
            "not",
            "true",
            "false",
            "null",
            "empty",
            "length",
            "keys",
            "tostring",
            "tonumber",
            "type",
        ):
            return set()
        if name == "select":
            self.args(inputs)
            return set(inputs)
        if name in ("map", "map_values", "any", "all"):
            # map(f), any(f), all(f): f reads each element; any(gen; f), all(gen; f): f reads gen's outputs.
            if not self.at_text("("):
                return set()
            self.take()
            mark, seen = self.index, set(self.accessed)
            generator = self.pipeline(inputs)
            if name in ("any", "all") and self.at_text(";"):
                self.take()
                self.pipeline(generator)
            else:
                self.index, self.accessed = mark, seen
                self.accessed |= _elements(inputs)
                self.pipeline(_elements(inputs))
            if self.at_text(")"):
                self.take()
            return set()
        if name in ("recurse", "reduce", "foreach", "def", "label", "try", "getpath", "paths", "path"):
            return set()
        self.args(inputs)
        return set()


def _elements(paths: set[Path]) -> set[Path]:
    return {(*path, ANY) for path in paths}


def read_paths(expression: str) -> set[Path]:
    """Every path the expression reads from its input document (with their prefixes).

    Raises :class:`NotAnalysed` for text it cannot follow (nesting deeper than
    :data:`MAX_DEPTH`, characters that are not jq); never another exception.
    """
    reader = _Reader(_tokens(expression))
    outputs = reader.pipeline({()})
    paths = reader.accessed | {p for p in outputs if p}
    closed: set[Path] = set()
    for path in paths:
        for end in range(1, len(path) + 1):
            closed.add(path[:end])
    return closed


def leaf_paths(expression: str) -> list[Path]:
    """The read paths that are not a prefix of another read path, sorted."""
    paths = read_paths(expression)
    return sorted(p for p in paths if not any(q[: len(p)] == p and len(q) > len(p) for q in paths))


_MODIFYING = {"=", "|=", "+=", "-=", "*=", "/=", "%=", "//="}
_EXCESSIVE = {"range", "paths", "recurse", "walk", "repeat"}
_KEYWORDS = {"if", "then", "elif", "else", "end", "reduce", "foreach", "try", "catch", "def", "label", "as"}
_OPENERS = {"(": ")", "[": "]", "{": "}"}


def read_only_problem(expression: str, *, everywhere: bool = True) -> str | None:
    """Why Karta's read-only jq rule refuses ``expression`` (None when it passes).

    The rule (``pkg/jq/validation.go``) refuses assignment operators, ``del``, the functions
    ``range``, ``paths``, ``recurse``, ``walk`` and ``repeat``, and ``..``. With ``everywhere``
    (``run.ai/v1alpha1``) it looks inside every sub-expression; without (v0.0.11) only through
    pipes, binary operators and function arguments, so what sits inside parentheses, arrays,
    objects, ``if``, ``reduce``, ``foreach``, ``try`` or a ``def`` is not seen. Read from the
    tokens; string interpolations are not looked into.
    """
    try:
        tokens = _tokens(expression)
    except ValueError:
        return None  # not in the subset this tokenizer knows; compiling decides
    stack: list[str] = []  # "args" (a function call's parentheses) or "group"
    hidden_by_keyword = False
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.kind == "op" and token.text in _OPENERS:
            call = (
                token.text == "("
                and previous is not None
                and previous.kind == "ident"
                and previous.text not in _KEYWORDS | {"and", "or", "not"}
            )
            stack.append("args" if call else "group")
            continue
        if token.kind == "op" and token.text in _OPENERS.values():
            if stack:
                stack.pop()
            continue
        if token.kind == "ident" and token.text in _KEYWORDS:
            hidden_by_keyword = True
        seen = everywhere or (not hidden_by_keyword and all(item == "args" for item in stack))
        if not seen:
            continue
        if token.kind == "recurse":
            return "recursive descent operator '..' is not allowed"
        if token.kind == "op" and token.text in _MODIFYING:
            return f"modifying operator '{token.text}' is not allowed"
        if token.kind == "ident" and (following is None or following.text != ":"):
            if previous is not None and previous.text == "def":
                continue
            if token.text == "del":
                return "del function is not allowed"
            if token.text in _EXCESSIVE:
                return f"function '{token.text}' may produce excessive output and is not allowed"
    return None
