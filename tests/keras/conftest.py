"""The tutorials under tutorials/ are tf.keras scripts that test_tutorials.py translates and
runs; pytest must not import them (they import tensorflow)."""

collect_ignore = ["tutorials"]
