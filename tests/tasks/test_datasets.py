"""The real-data tasks on their real shipped data: names (faker's surnames) and digits (scikit-learn's), their
splits, batches, baselines and refusals."""

from __future__ import annotations

import collections
import importlib.util
import json

import pytest
import torch

from rnnlab.tasks import optional
from rnnlab.tasks.dataset import stratified_split
from rnnlab.tasks.digits import DigitsTask
from rnnlab.tasks.names import NamesTask
from rnnlab.tasks.surnames import DATA_FILE, LANGUAGES, extract, load


@pytest.fixture(scope="module")
def names() -> NamesTask:
    return NamesTask(batch_size=32, seed=5)


# ---- the names data ------------------------------------------------------------------------------------------


def test_the_shipped_surnames_are_what_faker_gives():
    rows = load()
    assert len(rows) == 13666 and len(set(rows)) == len(rows)
    counts = collections.Counter(language for _, language in rows)
    assert set(counts) == set(LANGUAGES)
    assert (counts["Polish"], counts["Irish"], counts["Japanese"]) == (3793, 2377, 49)
    assert "faker 40.63.0" in DATA_FILE.read_text(encoding="utf-8").splitlines()[0]
    assert "MIT licence" in DATA_FILE.read_text(encoding="utf-8")
    assert list(rows) == extract()  # regenerating from the installed faker changes nothing
    assert ("Kowalski", "Polish") in rows and ("Tanaka", "Japanese") in rows


def test_a_name_of_two_languages_is_left_out():
    names_of = collections.defaultdict(set)
    for name, language in load():
        names_of[name].add(language)
    assert all(len(langs) == 1 for langs in names_of.values())
    assert "Adam" not in names_of  # faker lists it for Czech, French and German


def test_a_name_batch_is_its_characters_one_hot(names):
    batch = names.batch("test", 2)
    alphabet = names.alphabet
    rows = names.split["test"][2 * 32 : 3 * 32]
    for i, row in enumerate(rows.tolist()):
        length = int(batch["lengths"][i])
        decoded = "".join(alphabet[c] for c in batch["x"][i, :length].argmax(-1).tolist())
        assert decoded == names.surnames[row] and length == len(decoded)
        assert batch["x"][i, :length].sum().item() == length and batch["x"][i, length:].abs().sum() == 0
        assert names.class_names[batch["y"][i]] == load()[row][1]
    assert batch["x"].shape == (32, 40, names.input_size) and names.input_size == len(alphabet)


def test_encode_refuses_a_character_outside_the_alphabet(names):
    assert torch.equal(names.encode("Tanaka")["lengths"], torch.tensor([6]))
    with pytest.raises(ValueError, match="outside the task's alphabet: \\['Ж'\\]"):
        names.encode("TanakaЖ")


# ---- splits and batches --------------------------------------------------------------------------------------


def test_the_split_is_stratified_disjoint_complete_and_fixed(names):
    split = names.split
    together = torch.cat(list(split.values()))
    assert len(together) == len(names.y) and len(torch.unique(together)) == len(names.y)
    for language in range(names.output_size):
        n = int((names.y == language).sum())
        for part, fraction in (("val", 0.1), ("test", 0.1)):
            found = int((names.y[split[part]] == language).sum())
            assert abs(found - fraction * n) <= 1, (names.class_names[language], part)
    other_seed = NamesTask(seed=99)  # the run's seed shuffles training batches, never the split
    assert all(torch.equal(split[k], other_seed.split[k]) for k in split)
    assert not torch.equal(split["test"], NamesTask(split_seed=1).split["test"])


def test_stratified_split_of_a_tiny_class():
    labels = torch.tensor([0] * 20 + [1] * 2 + [2] * 3)
    split = stratified_split(labels, (0.2, 0.1), seed=0)
    assert [int((labels[split["val"]] == c).sum()) for c in range(3)] == [4, 0, 1]
    assert [int((labels[split["test"]] == c).sum()) for c in range(3)] == [2, 0, 1]
    assert int((labels[split["train"]] == 1).sum()) == 2  # too small to split: all of it trains


def test_training_batches_cover_each_pass_once_and_are_pure(names):
    per_pass = len(names.split["train"])
    steps = -(-2 * per_pass // names.batch_size)  # two passes' worth
    seen = torch.cat([names._train_rows(i) for i in range(steps)])
    assert torch.equal(torch.sort(seen[:per_pass]).values, names.split["train"])
    assert torch.equal(torch.sort(seen[per_pass : 2 * per_pass]).values, names.split["train"])
    assert not torch.equal(seen[:per_pass], seen[per_pass : 2 * per_pass])  # each pass its own order
    assert torch.equal(names.batch("train", 7)["x"], NamesTask(batch_size=32, seed=5).batch("train", 7)["x"])
    assert not torch.equal(names.batch("train", 7)["y"], NamesTask(batch_size=32, seed=6).batch("train", 7)["y"])


def test_validation_and_test_cover_their_split(names):
    for split, loader in (("val", names.val_dataloader()), ("test", names.test_dataloader())):
        seen = torch.cat([batch["y"] for batch in loader])
        assert torch.equal(seen, names.y[names.split[split]])


def test_the_baselines_are_the_majority_class_and_the_prior(names):
    train, test = names.y[names.split["train"]], names.y[names.split["test"]]
    majority = collections.Counter(train.tolist()).most_common(1)[0][0]
    assert names.class_names[majority] == "Polish"
    assert names.baseline_acc == pytest.approx(float((test == majority).double().mean()))
    assert 0.27 < names.baseline_acc < 0.29
    counts = torch.bincount(train, minlength=12).double()
    prior = (counts + 1) / (counts.sum() + 12)
    assert names.baseline == pytest.approx(float(-torch.log(prior[test]).mean()))


# ---- digits ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sklearn_digits():
    from sklearn.datasets import load_digits

    return load_digits()


def test_digits_rows_are_the_images_scaled(sklearn_digits):
    task = DigitsTask(batch_size=16)
    batch = task.batch("val", 1)
    rows = task.split["val"][16:32]
    expected = torch.tensor(sklearn_digits.images[rows.numpy()], dtype=torch.float32) / 16
    assert torch.equal(batch["x"], expected) and batch["x"].shape == (16, 8, 8)
    assert torch.equal(batch["y"], torch.tensor(sklearn_digits.target[rows.numpy()]))
    assert "lengths" not in batch and task.seq_len == 8 and task.input_size == 8
    assert (len(task.split["train"]), len(task.split["val"]), len(task.split["test"])) == (1439, 179, 179)
    assert 0.09 < task.baseline_acc < 0.12


def test_digits_pixels_in_order_or_in_one_fixed_permutation(sklearn_digits):
    plain = DigitsTask(mode="pixels", batch_size=8)
    permuted = DigitsTask(mode="pixels", permute=True, permutation_seed=3, batch_size=8)
    image = torch.tensor(sklearn_digits.images[int(plain.split["test"][0])], dtype=torch.float32).flatten() / 16
    x, xp = plain.batch("test", 0)["x"][0, :, 0], permuted.batch("test", 0)["x"][0, :, 0]
    assert torch.equal(x, image) and plain.seq_len == 64 and plain.input_size == 1
    order = torch.randperm(64, generator=torch.Generator().manual_seed(3))
    assert torch.equal(xp, image[order]) and not torch.equal(xp, x)
    second = permuted.batch("test", 0)["x"][1, :, 0]  # the same order for every image
    image2 = torch.tensor(sklearn_digits.images[int(plain.split["test"][1])], dtype=torch.float32).flatten() / 16
    assert torch.equal(second, image2[order])


def test_seq_len_reads_only_the_first_steps():
    assert DigitsTask(mode="pixels", seq_len=20).batch("val", 0)["x"].shape[1] == 20
    task = NamesTask(seq_len=4)
    assert int(task.lengths.max()) == 4 and task.batch("val", 0)["x"].shape[1] == 4


BAD = [
    (DigitsTask, dict(mode="cols"), "task.mode='cols' is invalid; allowed: one of rows, pixels"),
    (DigitsTask, dict(permute=True), "task.permute=True is invalid; allowed: false unless task.mode=pixels"),
    (DigitsTask, dict(variable_length=True), "task.variable_length=True is invalid; allowed: false for task 'digits'"),
    (NamesTask, dict(variable_length=False), "task.variable_length=False is invalid; allowed: true for task 'names'"),
    (NamesTask, dict(min_len=3), "task.min_len=3 is invalid; allowed: null"),
    (NamesTask, dict(val_fraction=0.6), "task.val_fraction=0.6 is invalid; allowed: a number in (0, 0.5)"),
    (NamesTask, dict(seq_len=0), "task.seq_len=0 is invalid; allowed: null (task 'names': its data's length, 40)"),
    (NamesTask, dict(val_batches=0), "task.val_batches=0 is invalid; allowed: null (the whole split)"),
]


@pytest.mark.parametrize("cls,kwargs,message", BAD, ids=[m.split(" is")[0] for _, _, m in BAD])
def test_bad_arguments_are_refused_in_one_line(cls, kwargs, message):
    with pytest.raises(ValueError) as error:
        cls(**kwargs)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_missing_package_is_one_line_with_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(optional.importlib.util, "find_spec", lambda name: None if name == "sklearn" else real(name))
    with pytest.raises(optional.MissingPackage) as error:
        DigitsTask()
    assert str(error.value) == (
        "scikit-learn is not installed, and is needed by task 'digits' (its data ship inside it); "
        "install it: pip install 'rnnlab[tasks]'"
    )


# ---- they can be learned -----------------------------------------------------------------------------------

# (overrides, the lowest test accuracy accepted): each well below what the docs measured (names, 2,000 steps with
# concat: 0.776; digits rows 700 steps: 0.978) and far above the majority class (0.28, 0.10).
LEARNING = {
    "names": (["task=names", "model=torch", "max_steps=400", "task.train_batches=400"], 0.65),
    "digits-rows": (["task=digits", "max_steps=300", "task.train_batches=300"], 0.85),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", LEARNING)
def test_a_small_rnn_learns_the_real_tasks(case, tmp_path):
    from rnnlab.training.run import train
    from tests.helpers import compose_run

    overrides, lowest = LEARNING[case]
    train(compose_run(tmp_path, [*overrides, "trainer.enable_progress_bar=false", "callbacks=none"]))
    final = json.loads((tmp_path / "metrics.json").read_text())["final"]
    assert final["test/acc"] > lowest, final
