"""The reranker: trained by one command, loaded offline from the package, refused with one line when damaged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from qa.rerank import CrossEncoder, RerankerError

CONTEXT = (
    "成都市城乡最低生活保障标准分别提高至700元、650元。特困人员集中供养标准为每人每月1200元。"
    "天津市每千人口拥有3岁以下婴幼儿托位数达到4.5个。上海市养老护理员持证比例达到百分之八十。"
)
QUESTIONS = [
    ("成都特困人员集中供养标准是多少?", "1200元"),
    ("天津每千人口有多少托位?", "4.5个"),
    ("上海养老护理员持证比例是多少?", "百分之八十"),
    ("成都城市低保标准是多少?", "700元"),
    ("北京的公积金贷款额度是多少?", None),  # the paragraph does not say: the target is "no answer"
]


def _squad(path: Path) -> Path:
    qas = [
        {"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": CONTEXT.index(a)}] if a else [],
         "is_impossible": "false" if a else "true"}
        for i, (q, a) in enumerate(QUESTIONS)
    ]  # fmt: skip
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": CONTEXT, "qas": qas}]}]}), encoding="utf-8")
    return path


def _train(tmp_path: Path, *more: str, out: str = "r.safetensors") -> int:
    from training.reranker import main

    (tmp_path / "empty").mkdir(exist_ok=True)
    args = ["--eval", str(tmp_path / "empty"), "--candidates", str(tmp_path / "empty"), "--layers", "1"]
    args += ["--epochs", "1", "--pairs", "8", "--max-length", "48", "--seed", "7", "--precision", "fp32"]
    return main(args + ["--out", str(tmp_path / out), "--checkpoints", str(tmp_path / ("ck-" + out)), *more])


@pytest.mark.slow
def test_one_command_trains_a_reranker_that_loads_and_is_deterministic(tmp_path: Path) -> None:
    from index.e5model import prepare_default_model
    from qa.assistant import cache_root

    data = _squad(tmp_path / "tiny.json")
    assert _train(tmp_path, "--extra", str(data), out="a.safetensors") == 0
    assert _train(tmp_path, "--extra", str(data), out="b.safetensors") == 0
    model_dir = prepare_default_model(cache_root())
    a = CrossEncoder.load(model_dir, path=tmp_path / "a.safetensors")
    b = CrossEncoder.load(model_dir, path=tmp_path / "b.safetensors")
    assert a.config["trained"]["groups"] == {"tiny": 5} and a.config["layers"] == 1
    for name in a.w:
        torch.testing.assert_close(a.w[name], b.w[name], rtol=0, atol=0)  # same seed, same weights
    scores = a.scores(QUESTIONS[0][0], ["特困人员集中供养标准为每人每月1200元。", "天津市托位数达到4.5个。"])
    assert scores.shape == (2,) and np.isfinite(scores).all()
    assert (tmp_path / "a.safetensors").stat().st_size < 25e6


@pytest.mark.slow
def test_a_trained_reranker_ships_int8_rows_and_its_int8_pass_agrees_with_fp32(tmp_path: Path) -> None:
    from safetensors import safe_open

    from index.e5model import prepare_default_model
    from index.precision import Precision
    from qa.assistant import cache_root
    from qa.rerank import RANGES, SCALE

    assert _train(tmp_path, "--extra", str(_squad(tmp_path / "tiny.json"))) == 0
    with safe_open(str(tmp_path / "r.safetensors"), framework="pt") as f:
        names = set(f.keys())
        matrix = "encoder.layer.0.intermediate.dense.weight"
        assert f.get_tensor(matrix).dtype == torch.int8 and matrix + SCALE in names
        assert RANGES + "encoder.layer.0.intermediate.dense" in names  # measured on the training pairs
    model_dir = prepare_default_model(cache_root())
    fp32 = CrossEncoder.load(model_dir, path=tmp_path / "r.safetensors", precision=Precision("fp32", "test"))
    int8 = CrossEncoder.load(model_dir, path=tmp_path / "r.safetensors", precision=Precision("fp32", "test", True))
    assert fp32.int8 is None and int8.int8 is not None and matrix not in int8.w  # packed, not kept twice
    sentences = [c for c in CONTEXT.split("。") if c]
    exact, approx = fp32.scores(QUESTIONS[0][0], sentences), int8.scores(QUESTIONS[0][0], sentences)
    assert np.abs(exact - approx).max() < 0.05 * (np.abs(exact).max() + 1)


@pytest.mark.slow
def test_distilling_a_teacher_moves_the_student_toward_its_scores(tmp_path: Path) -> None:
    from training.reranker import Group, loss

    group = Group("tiny", "成都城市低保标准是多少?", ("标准提高至700元。", "托位数达到4.5个。"), (True, False))
    logits = torch.tensor([0.0, 0.0], requires_grad=True)
    taught = {group: np.array([-3.0, 3.0], dtype=np.float32)}  # a teacher that prefers the second sentence
    loss(logits, [group], taught, share=1.0).backward()
    assert logits.grad[1] < 0 < logits.grad[0]  # descending the loss raises what the teacher raised
    data = str(_squad(tmp_path / "tiny.json"))
    assert _train(tmp_path, "--extra", data, out="teacher.safetensors") == 0
    assert (
        _train(tmp_path, "--extra", data, "--teacher", str(tmp_path / "teacher.safetensors"), out="s.safetensors") == 0
    )
    assert (tmp_path / "ck-s.safetensors" / "teacher.pt").exists()  # scored once, kept for a resumed run


def test_a_file_that_is_not_squad_shaped_is_one_line_and_leaves_the_reranker(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"rows": [1, 2]}', encoding="utf-8")
    (tmp_path / "r.safetensors").write_bytes(b"the reranker in use")
    assert _train(tmp_path, "--extra", str(bad)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("train: error: ") and "is not a SQuAD-form file" in err[-1]
    assert (tmp_path / "r.safetensors").read_bytes() == b"the reranker in use"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line(tmp_path: Path, capsys) -> None:
    assert _train(tmp_path, "--extra", str(_squad(tmp_path / "tiny.json")), "--device", "cuda") == 2
    assert "no CUDA GPU is visible" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, b"not a safetensors file"])
def test_a_missing_or_damaged_reranker_names_the_file_and_the_command(tmp_path: Path, content) -> None:
    path = tmp_path / "reranker.safetensors"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RerankerError) as error:
        CrossEncoder.load(tmp_path, path=path)
    message = str(error.value)
    assert str(path) in message and "python -m training.reranker" in message and "\n" not in message


@pytest.mark.slow
def test_a_reranker_for_another_model_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from index.e5model import prepare_default_model
    from qa.assistant import cache_root

    path = tmp_path / "other.safetensors"
    config = {"base": "bge-small-zh", "fingerprint": "0", "layers": 0, "heads": 12, "eps": 1e-12, "pad": 1}
    save_file({"none": torch.zeros(1)}, str(path), metadata={"config": json.dumps(config | {"max_length": 32})})
    with pytest.raises(RerankerError, match="trained for another model"):
        CrossEncoder.load(prepare_default_model(cache_root()), path=path)


def test_a_damaged_reranker_stops_qa_ask_with_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    from app.cli import main
    from qa.reader_model import Model

    if not Model.load().rerank:
        pytest.skip("the shipped reader does not use a reranker")
    bad = tmp_path / "reranker.safetensors"
    bad.write_bytes(b"\x00" * 64)
    monkeypatch.setattr("qa.rerank.RERANKER", bad)
    assert main(["ask", "天津农村特困人员分散供养每月多少钱?"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qa: error: the reranker") and str(bad) in err and "\n" not in err


@pytest.mark.slow
def test_the_shipped_reranker_reads_question_and_sentence_together() -> None:
    """Same topic, other group or other figure: the sentence that answers scores above its neighbours."""
    from index.e5model import prepare_default_model
    from qa.assistant import cache_root
    from qa.reader_model import Model

    if not Model.load().rerank:
        pytest.skip("the shipped reader does not use a reranker")
    reranker = CrossEncoder.load(prepare_default_model(cache_root()))
    cases = [
        ("天津农村特困人员分散供养每月多少钱?",
         ["农村特困人员集中供养、分散供养标准分别提高至每人每月1870元、1530元。",
          "城乡低保标准提高至每人每月1010元。", "天津市每千人口拥有托位数达到4.5个。"]),
        ("业主委员会由几名委员组成?",
         ["业主委员会由五人以上单数组成。", "业主委员会应当自选举产生之日起三十日内备案。",
          "业主大会会议可以采用集体讨论的形式。"]),
        ("劳动者每日工作时间不超过几小时?",
         ["国家实行劳动者每日工作时间不超过八小时、平均每周工作时间不超过四十四小时的工时制度。",
          "用人单位应当保证劳动者每周至少休息一日。", "劳动者享有平等就业和选择职业的权利。"]),
    ]  # fmt: skip
    for question, sentences in cases:
        scores = reranker.scores(question, sentences)
        assert scores.argmax() == 0, (question, scores)


def test_the_reranker_trains_on_the_sets_the_reader_collects_and_no_other_file(tmp_path: Path) -> None:
    import pickle

    from training.reader import OPEN_BOOK
    from training.reranker import ABSENT, COLLECTED, WRITTEN, candidate_groups, collected_files

    assert set(COLLECTED) == {"benchmark", "laws", "cjrc", WRITTEN, *OPEN_BOOK}  # not "absent": measured only
    (tmp_path / "leftover.pkl").write_bytes(pickle.dumps(("features", ["an experiment's rows"])))
    assert candidate_groups(tmp_path) == ([], [])  # a stray cache file is not training data
    (tmp_path / f"{ABSENT}.pkl").write_bytes(pickle.dumps(("features", [])))
    assert collected_files(tmp_path) == [] and collected_files(tmp_path, also=(ABSENT,)) == [tmp_path / "absent.pkl"]


def test_the_written_laws_set_is_not_trained_on_whole_through_extra(tmp_path: Path, capsys) -> None:
    from training import LAWS_QUESTIONS

    assert _train(tmp_path, "--extra", str(LAWS_QUESTIONS)) == 2  # its hold part would be trained on
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("train: error: ") and "leave it out of --extra" in err[-1]
    assert not (tmp_path / "r.safetensors").exists()


def test_the_written_set_is_all_dev_with_a_hold_part(assistant) -> None:
    from training import LAWS_QUESTIONS
    from training.reader import collect, split_items
    from training.reranker import WRITTEN, held_out

    items = split_items(LAWS_QUESTIONS, own_paragraph=False)
    assert len(items) > 900 and sum(held_out(WRITTEN, i[0]) for i in items) > 150  # enough to choose on
    rows = collect(WRITTEN, assistant, items[:4], progress=False, dev_only=True)
    assert [r.half for r in rows] == ["dev"] * 4 and all(r.set == WRITTEN for r in rows)


def test_the_written_questions_asked_of_a_library_keep_their_part_and_are_judged_by_their_law() -> None:
    from training import LAWS_QUESTIONS
    from training.laws_questions import LAWS
    from training.reader import _absent_items, split_items
    from training.reranker import ABSENT, WRITTEN, held_out

    written, absent = split_items(LAWS_QUESTIONS, own_paragraph=False), _absent_items()
    assert [i[:5] for i in absent] == [i[:5] for i in written] and [i[6] for i in absent] == [i[6] for i in written]
    # a question in the written set's hold part is never trained on as asked of a library either
    assert all(held_out(ABSENT, i[0]) == held_out(WRITTEN, i[0]) for i in written)
    if LAWS.is_dir():  # the gold is the law's file, as a library built from ../shared/laws names its source
        assert all((LAWS / i[5]).is_file() for i in absent)


def test_a_swapped_question_asks_about_a_neighbour_and_targets_no_answer() -> None:
    from training.reranker import Group, swapped

    right = "业主大会会议应当有过半数的业主参加。"
    other = "业主委员会会议应当有过半数的委员出席。"
    filler = [f"第{n}条规定了物业服务企业的第{n}项义务。" for n in range(8)]
    groups = [Group("laws", "业主大会会议应当有多少业主参加?", (right, other, *filler), (True, False, *[False] * 8))]
    groups += [Group("laws", "物业服务企业有哪些义务?", tuple(filler), (False,) * 8)]  # no answer: no swap
    (swap,) = swapped(groups, share=1.0)
    assert swap.set == "swapped" and not any(swap.answers)
    assert "业主大会" not in swap.question and swap.question != groups[0].question
    new = swap.question.replace("会议应当有多少业主参加?", "")
    assert new in other and new not in right  # the neighbour's subject, and its sentence has left
    assert right in swap.sentences and other not in swap.sentences
    assert swapped(groups, share=1.0) == swapped(groups, share=1.0) and swapped(groups, share=0.0) == []


@pytest.mark.slow
def test_a_reranker_trained_with_context_reads_each_sentence_with_the_one_before(tmp_path: Path) -> None:
    from index.e5model import prepare_default_model
    from qa.assistant import cache_root
    from training.reranker import squad_groups

    assert _train(tmp_path, "--extra", str(_squad(tmp_path / "tiny.json")), "--context", "before") == 0
    groups = squad_groups(tmp_path / "tiny.json", "tiny", before=True)
    assert "｜上文：成都市城乡最低生活保障标准" in groups[0].sentences[1]
    assert "上文" not in "".join(squad_groups(tmp_path / "tiny.json", "tiny")[0].sentences)
    model = CrossEncoder.load(prepare_default_model(cache_root()), path=tmp_path / "r.safetensors")
    sentence = ["特困人员集中供养标准为每人每月1200元。"]
    alone, read_with = (
        model.scores(QUESTIONS[0][0], sentence, [""]),
        model.scores(QUESTIONS[0][0], sentence, ["天津市。"]),
    )
    assert model.context and alone[0] != read_with[0]
    with pytest.raises(ValueError, match="give `befores`"):  # never read alone without saying so
        model.scores(QUESTIONS[0][0], sentence)
    assert _train(tmp_path, "--extra", str(_squad(tmp_path / "tiny.json")), out="plain.safetensors") == 0
    plain = CrossEncoder.load(prepare_default_model(cache_root()), path=tmp_path / "plain.safetensors")
    assert not plain.context
    np.testing.assert_array_equal(
        plain.scores(QUESTIONS[0][0], sentence), plain.scores(QUESTIONS[0][0], sentence, ["天津市。"])
    )


@pytest.mark.slow
def test_the_hold_figures_count_swapped_questions_declined_apart_from_what_chooses(tmp_path: Path, capsys) -> None:
    from index.e5model import prepare_default_model
    from index.precision import resolve_precision
    from qa.assistant import cache_root
    from training.reranker import Group, first_right, main

    assert _train(tmp_path, "--extra", str(_squad(tmp_path / "tiny.json"))) == 0
    path = tmp_path / "r.safetensors"
    model = CrossEncoder.load(prepare_default_model(cache_root()), path=path, precision=resolve_precision("fp32"))
    right, other = "业主大会会议应当有过半数的业主参加。", "业主委员会会议应当有过半数的委员出席。"
    filler = tuple(f"第{n}条规定了物业服务企业的第{n}项义务。" for n in range(6))
    hold = [Group("laws", "业主大会会议应当有多少业主参加?", (right, other, *filler), (True, False, *[False] * 6))]
    for bias, declined in ((-50.0, 1.0), (50.0, 0.0)):  # "no answer" beats every sentence, or none
        figures = first_right(model, model.w | {"head.bias": torch.tensor([bias])}, hold)
        assert figures["swapped"] == {"questions": 1, "declined": declined}
        assert figures["laws"]["questions"] == 1 and "first_right" not in figures["swapped"]
    assert main(["--measure", str(path), "--candidates", str(tmp_path / "empty")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"reranker": str(path)}  # no hold part there
