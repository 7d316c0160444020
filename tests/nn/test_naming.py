"""Default names: Keras's snake case, unique per process, safe from many threads."""

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn.naming import UniqueNames, snake_case


@pytest.mark.parametrize("class_name, expected", [
    ("Dense", "dense"), ("Conv2D", "conv2d"), ("MaxPooling2D", "max_pooling2d"),
    ("GlobalAveragePooling2D", "global_average_pooling2d"), ("LSTM", "lstm"),
    ("SimpleRNN", "simple_rnn"), ("BatchNormalization", "batch_normalization"),
    ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"), ("AUC", "auc"),
    ("F1Score", "f1_score"), ("TopKCategoricalAccuracy", "top_k_categorical_accuracy"),
    ("Sequential", "sequential")])
def test_snake_case_follows_keras(class_name, expected):
    assert snake_case(class_name) == expected


@given(st.from_regex(r"[A-Z][A-Za-z0-9]{0,15}", fullmatch=True))
def test_snake_case_is_lower_case_and_keeps_the_letters(class_name):
    name = snake_case(class_name)
    assert name == name.lower()
    assert name.replace("_", "") == class_name.lower()


def test_unique_names_count_per_base_and_reset():
    names = UniqueNames()
    assert [names.take("dense"), names.take("dense"), names.take("conv2d"),
            names.take("dense")] == ["dense", "dense_1", "conv2d", "dense_2"]
    names.reset()
    assert names.take("dense") == "dense"


def test_unique_names_from_many_threads_never_repeat():
    names = UniqueNames()
    taken = []

    def take_many():
        taken.extend(names.take("dense") for _ in range(500))

    threads = [threading.Thread(target=take_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == len(set(taken)) == 4000


def test_layers_and_models_get_distinct_default_names():
    first, second = mg.nn.Dense(2), mg.nn.Dense(2)
    assert first.name.startswith("dense") and first.name != second.name
    assert mg.Sequential().name.startswith("sequential")
    assert mg.nn.Dense(2, name="head").name == "head"
