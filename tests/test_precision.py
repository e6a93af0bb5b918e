"""The precision is chosen from the CPU's flags, once: bf16 only where the CPU has it; either answers alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.precision import cpu_bf16, cpu_flags, resolve_precision


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"avx2", "avx512f", "avx512_bf16"}, "bf16"),
        ({"avx2", "amx_bf16", "amx_tile"}, "bf16"),
        ({"avx2", "fma"}, "fp32"),  # AVX2 only: bf16 would be emulated
        ({"avx512f", "avx512bw", "avx512_vnni"}, "fp32"),  # AVX-512 without its bf16 instructions
        (set(), "fp32"),  # no /proc/cpuinfo
    ],
)
def test_auto_takes_bf16_only_where_the_cpu_has_it(flags: set[str], expected: str) -> None:
    precision = resolve_precision("auto", "cpu", flags)
    assert precision.name == expected
    assert precision.reason.startswith("auto: the CPU has")


def test_asked_precision_is_kept_and_emulated_bf16_warns(capsys) -> None:
    assert resolve_precision("fp32", "cpu", {"avx512_bf16"}).name == "fp32"
    assert resolve_precision("bf16", "cpu", {"avx512_bf16"}).name == "bf16"
    assert capsys.readouterr().err == ""
    assert resolve_precision("bf16", "cpu", {"avx2"}).name == "bf16"  # it runs, slowly
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "emulated" in warning


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(RuntimeError, match="choose one of auto, fp32, bf16"):
        resolve_precision("fp16")


def test_flags_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16 amx_tile\nbogomips\t: 1\n", encoding="utf-8")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16", "amx_tile"}
    assert cpu_bf16(cpu_flags(info)) == "avx512_bf16"
    assert cpu_flags(tmp_path / "missing") == set()


def test_bad_precision_on_the_command_line_is_one_line(capsys) -> None:
    from app.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["ask", "天津低保标准是多少?", "--precision", "int4"])
    assert exit_.value.code == 2
    assert "invalid choice: 'int4'" in capsys.readouterr().err


@pytest.mark.slow
def test_an_index_built_in_one_precision_answers_alike_in_the_other(tiny_folder: Path, tmp_path: Path) -> None:
    """Built in bf16 (emulated where the CPU lacks it: slow but correct), answered in fp32, bf16 and auto: the same
    quotes; the manifest and `qa index info` say what the vectors were computed in."""
    from index.embed import Encoder, cache_root
    from index.info import describe, render_info
    from qa.assistant import Assistant, build_folder

    build_folder(tiny_folder, tmp_path / "index", Encoder(cache_root=cache_root(), precision="bf16"), progress=False)
    info = describe(tmp_path / "index")
    assert info["precision"] == "bf16" and "precision  bf16" in render_info(info)
    answers = {}
    for precision in ("fp32", "bf16", "auto"):  # auto: questions in int8 where the CPU has VNNI
        assistant = Assistant(tmp_path / "index", progress=False, precision=precision)
        assert precision == "auto" or assistant.precision.name == precision
        for question in ("天津每千人口有多少托位?", "成都特困人员集中供养标准是多少?", "成都低保标准是多少?"):
            answer = assistant.answer(question)
            answers.setdefault(question, []).append([(q.source, q.start, q.end) for q in answer.sentences])
    for question, (fp32, bf16, auto) in answers.items():
        assert fp32 and fp32 == bf16 == auto, question
    # built the way `auto` builds here (int8 passages where the CPU has VNNI): recorded, and the same quotes
    encoder = Encoder(cache_root=cache_root(), precision="auto")
    build_folder(tiny_folder, tmp_path / "auto", encoder, progress=False)
    assert describe(tmp_path / "auto")["precision"] == encoder.precision.passage_pass
    assistant = Assistant(tmp_path / "auto", progress=False, precision="auto")
    for question, (fp32, _, _) in answers.items():
        assert [(q.source, q.start, q.end) for q in assistant.answer(question).sentences] == fp32, question


@pytest.mark.parametrize(
    "flags, requested, expected",
    [
        ({"avx512_bf16", "avx512_vnni"}, "auto", "int8"),
        ({"avx2", "avx_vnni"}, "auto", "int8"),
        ({"avx2", "fma"}, "auto", ""),  # no VNNI: int8 products would be slow and may saturate
        ({"avx512_bf16", "avx512_vnni"}, "bf16", ""),  # asked for: every pass in it
        ({"avx512_bf16", "avx512_vnni"}, "fp32", ""),
    ],
)
def test_questions_go_int8_only_where_the_cpu_has_vnni(flags: set[str], requested: str, expected: str) -> None:
    precision = resolve_precision(requested, "cpu", flags)
    assert precision.questions == precision.passages == expected
    assert precision.question_pass == precision.passage_pass == (expected or precision.name)
    assert ("questions int8, passages int8" in precision.describe()) == bool(expected)


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"avx512_bf16", "avx512_vnni"}, "int8"),  # AMD EPYC: int8 pairs faster (16.8 against 22.3 ms)
        ({"avx512_bf16", "amx_bf16", "avx512_vnni", "amx_int8"}, "bf16"),  # AMX tiles: bf16 faster (17.3 / 24.5)
        ({"avx2", "avx_vnni"}, "int8"),
        ({"avx2"}, "fp32"),
    ],
)
def test_the_reranker_s_pairs_stay_in_bf16_where_the_cpu_has_amx_tiles(flags: set[str], expected: str) -> None:
    precision = resolve_precision("auto", "cpu", flags)
    assert precision.pairs == expected
    assert precision.question_pass == ("int8" if flags & {"avx512_vnni", "avx_vnni"} else "fp32")  # questions: int8


def test_a_gpu_s_pairs_run_in_its_own_precision(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    precision = resolve_precision("auto", "cuda")
    assert precision.pairs == precision.name == "bf16" and not precision.amx


def test_int8_questions_are_the_bundled_model_s_own(monkeypatch) -> None:
    """Another sentence-transformers model never gets the bundled model's int8 pass."""
    from index import precision as module
    from index.embed import Encoder

    monkeypatch.setattr(module, "cpu_flags", lambda *_: {"avx512_bf16", "avx512_vnni"})
    assert Encoder(precision="auto").precision.questions == Encoder(precision="auto").precision.passages == "int8"
    other = Encoder("some/other-model", precision="auto").precision
    assert other.questions == other.passages == ""


def test_int8_products_follow_the_float_ones() -> None:
    """Balanced int8 products of a layer with one loud input channel stay close to fp32, and the recorder keeps
    each channel's largest magnitude."""
    import torch

    from index.int8 import Int8Linears, RangeRecorder

    torch.manual_seed(0)
    w = {"l.weight": torch.randn(64, 32) / 8, "l.bias": torch.randn(64) / 8}
    x = torch.randn(5, 32)
    x[:, 3] *= 40  # an outlier channel, as after a BERT layer's GELU
    recorder = RangeRecorder(w)
    exact = recorder(x, "l")
    assert torch.equal(recorder.ranges["l"], x.abs().amax(0))
    approx = Int8Linears(w, recorder.ranges)(x, "l")
    assert torch.nn.functional.cosine_similarity(exact, approx).min() > 0.999
    assert not torch.equal(exact, approx)  # it really ran in int8


def test_a_damaged_range_file_is_one_line(tmp_path: Path) -> None:
    import torch

    from index.int8 import Int8Linears

    bad = tmp_path / "ranges.safetensors"
    bad.write_bytes(b"not a safetensors file")
    w = {"l.weight": torch.ones(2, 2), "l.bias": torch.zeros(2)}
    for path in (bad, tmp_path / "missing.safetensors"):
        with pytest.raises(RuntimeError, match="training.calibrate") as error:
            Int8Linears.load(w, path)
        assert "\n" not in str(error.value)


@pytest.mark.slow
def test_int8_question_vectors_agree_with_fp32() -> None:
    """The shipped ranges and the real model: question and passage vectors at mean cosine ≥ 0.999 to fp32."""
    import numpy as np

    from index.bert import BertEncoder
    from index.e5model import prepare_default_model
    from index.embed import cache_root
    from index.precision import Precision

    model = prepare_default_model(cache_root())
    fp32 = BertEncoder(model, precision=Precision("fp32", "test"))
    int8 = BertEncoder(model, precision=Precision("fp32", "test", "int8"))
    questions = [
        "query: " + q
        for q in (
            "天津农村特困人员每月能领多少钱?",
            "上海市住宅物业管理规定第二十条规定了什么",
            "怎么申请低保?",
            "婴幼儿照护服务机构需要备案吗",
        )
    ]
    cosine = (fp32.encode(questions) * int8.encode(questions, int8=True)).sum(axis=1)
    assert cosine.mean() >= 0.999 and cosine.min() > 0.998
    assert np.abs(cosine - 1).max() > 1e-6  # the int8 pass really ran
    passages = [
        "passage: 第二十五条 业主大会会议可以采用集体讨论的形式，也可以采用书面征求意见的形式；但应当有物业管理区域内"
        "持有二分之一以上投票权的业主参加。",
        "passage: 农村特困人员集中供养、分散供养标准分别提高至每人每月1870元、1530元，城乡低保标准提高。",
    ]
    cosine = (fp32.encode(passages) * int8.encode(passages, batch_size=8, int8=True)).sum(axis=1)
    assert cosine.mean() >= 0.999
