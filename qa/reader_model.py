"""The fitted reader's parameters: the signals that describe a candidate sentence (`FEATURES`), and the
logistic model over them, its calibration, threshold and how the reranker's score joins (`qa/data/reader.json`,
fitted by `training/reader.py`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

MODEL = Path(str(resources.files("qa") / "data" / "reader.json"))
FEATURES = (
    "lexical",  # share of the question's term weight (idf) the sentence holds
    "lexical_gap",  # … less the best candidate's share
    "context_lexical",  # … that the sentence and its neighbours hold
    "missing_rare",  # the rarest question term missing from sentence and neighbours: its idf over the rarest's
    "semantic",  # cosine of question and sentence
    "semantic_gap",  # … less the best candidate's cosine
    "passage_semantic",  # cosine of question and the sentence's best passage
    "lexical_rank",  # 1 / (1 + its rank among the candidates by lexical)
    "semantic_rank",  # 1 / (1 + its rank by semantic)
    "novel",  # share of its words the question does not have (an answer says something new)
    "bigrams",  # share of the question's character pairs found in the sentence
    "copied",  # the longest stretch of the question found verbatim in the sentence, over the question's length
    "terms_held",  # share of the question's terms (unweighted) the sentence holds
    "passage_rank",  # 1 / (1 + rank of that passage)
    "amount_fit",  # an amount question: the sentence has a figure (+1), a blank (−1), neither (0)
    "date_fit",  # a date question: the sentence has a date
    "list_fit",  # a list question: how enumerated the sentence is
    "unit_fit",  # the unit asked for (几天, 多少元, 比例) follows a figure in the sentence (+1) or nowhere (−1)
    "fragment",  # a title, heading or fragment: states nothing
    "bound_fit",  # a question for a limit (最多, 至少, 最晚…内): the sentence states one (+1) or not (−1)
    "figures_held",  # share of the question's figures (满一年不足五年: 1, 5) the sentence gives
    "figure_side",  # … on the side the question means (不满十六周岁 vs 十六周岁以上): +1 same, −1 other
    "length",  # log of the sentence's length
)


@dataclass(frozen=True)
class Model:
    """The fitted reader: standardised features → logistic probability; top probability → confidence."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    calibration: tuple[float, ...]  # confidence = σ(a·z + b + c·r): z the best sentence's logit, r the reranker's
    # best log-odds against "no answer" (fitted with the reranker; without one, (a, b) alone)
    threshold: float  # below this confidence: 未找到
    share: float  # quote the further sentences whose probability is at least this share of the best one's
    fitted: dict
    rerank: dict | None = None  # how the reranker's score joins: {"k", "coef": [first stage, reranker], "intercept"}

    @classmethod
    def load(cls, path: Path = MODEL) -> Model:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was fitted on other features; refit it with training/reader.py")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        """Parameters as `training/reader.py` writes them; while it fits, the calibration (identity),
        threshold (0) and share (1) may be missing yet."""
        return cls(
            FEATURES,
            np.asarray(data["mean"]),
            np.asarray(data["scale"]),
            np.asarray(data["coef"]),
            float(data["intercept"]),
            tuple(data.get("calibration", (1.0, 0.0))),
            float(data.get("threshold", 0.0)),
            float(data.get("share", 1.0)),
            data.get("fitted", {}),
            data.get("rerank"),
        )

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Each feature row's probability that its sentence answers."""
        return 1 / (1 + np.exp(-np.clip(((x - self.mean) / self.scale) @ self.coef + self.intercept, -40, 40)))

    def reranked(self, first: np.ndarray, cross: np.ndarray) -> np.ndarray:
        """The probability that each of the first stage's top k answers, from its first-stage probability and
        the reranker's score."""
        (a, b), c = self.rerank["coef"], self.rerank["intercept"]
        p = np.clip(first, 1e-9, 1 - 1e-9)
        return 1 / (1 + np.exp(-np.clip(a * np.log(p / (1 - p)) + b * cross + c, -40, 40)))

    def confidence(self, probability: float, any_answer: float | None = None) -> float:
        """The calibrated probability that the best sentence, of this probability, answers the question, given
        also how likely the reranker finds it that any of the rescored sentences answers (`any_answer`)."""
        p = min(max(probability, 1e-9), 1 - 1e-9)
        a, b, *c = self.calibration
        z = a * math.log(p / (1 - p)) + b + (c[0] * any_answer if c and any_answer is not None else 0.0)
        return 1 / (1 + math.exp(-min(max(z, -40.0), 40.0)))
