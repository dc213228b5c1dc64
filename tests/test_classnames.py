"""Class names: one class per spelling ignoring case and spaces, merges reported, typos caught."""

from curation.data.classnames import did_you_mean, normalise, small_classes


def test_case_and_space_variants_are_one_class_and_the_merge_is_reported():
    labels = ["Happy", "happy ", "HAPPY", "Sad", "Happy", None, " Sad"]
    mapping, notes = normalise(labels)
    assert {mapping[x] for x in ("Happy", "happy ", "HAPPY")} == {"Happy"}
    assert mapping["Sad"] == mapping[" Sad"] == "Sad"
    assert "'Happy', 'happy ' and 'HAPPY' read as Happy: 4 rows" in notes
    assert "'Sad' and ' Sad' read as Sad: 2 rows" in notes


def test_a_known_class_gives_its_spelling():
    mapping, notes = normalise(["happiness", "ANGER "], known=["anger", "happiness"])
    assert mapping == {"happiness": "happiness", "ANGER ": "anger"}
    assert notes == ["'ANGER ' read as anger: 1 row"]


def test_did_you_mean_only_for_close_labels():
    classes = ["Happy", "Sad", "Surprise", "Neutral"]
    assert did_you_mean("Hapy", classes) == "Happy"
    assert did_you_mean("suprise", classes) == "Surprise"
    assert did_you_mean("Contempt", classes) is None


def test_small_classes():
    assert small_classes(["a"] * 5 + ["b"] * 4 + ["c"], 5) == {"b": 4, "c": 1}
