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
    """Built in bf16 (emulated where the CPU lacks it: slow but correct), answered in fp32 and in bf16: the same
    quotes; the manifest and `qa index info` say what the vectors were computed in."""
    from index.embed import Encoder, cache_root
    from index.info import describe, render_info
    from qa.assistant import Assistant, build_folder

    build_folder(tiny_folder, tmp_path / "index", Encoder(cache_root=cache_root(), precision="bf16"), progress=False)
    info = describe(tmp_path / "index")
    assert info["precision"] == "bf16" and "precision  bf16" in render_info(info)
    answers = {}
    for precision in ("fp32", "bf16"):
        assistant = Assistant(tmp_path / "index", progress=False, precision=precision)
        assert assistant.precision.name == precision
        for question in ("天津每千人口有多少托位?", "成都特困人员集中供养标准是多少?", "成都低保标准是多少?"):
            answer = assistant.answer(question)
            answers.setdefault(question, []).append([(q.source, q.start, q.end) for q in answer.sentences])
    for question, (fp32, bf16) in answers.items():
        assert fp32 and fp32 == bf16, question
