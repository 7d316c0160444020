# The bidirectional-LSTM IMDB sentiment example, written with the functional API against
# tf.keras: Input of variable length, Embedding, two stacked Bidirectional LSTMs, a sigmoid.
# The test changes only `import tensorflow as tf` -> `from minigrad import keras` and
# `tf.keras.` -> `keras.`.
import tensorflow as tf

max_features = 20000  # the vocabulary: the most frequent words
maxlen = 200  # each review cut (or padded) to this many words

inputs = tf.keras.Input(shape=(None,), dtype="int32")
x = tf.keras.layers.Embedding(max_features, 128)(inputs)
x = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(64, return_sequences=True))(x)
x = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(64))(x)
outputs = tf.keras.layers.Dense(1, activation="sigmoid")(x)
model = tf.keras.Model(inputs, outputs)
model.summary()

(x_train, y_train), (x_val, y_val) = tf.keras.datasets.imdb.load_data(num_words=max_features)
print(len(x_train), "training sequences")
print(len(x_val), "validation sequences")
x_train = tf.keras.preprocessing.sequence.pad_sequences(x_train, maxlen=maxlen)
x_val = tf.keras.utils.pad_sequences(x_val, maxlen=maxlen)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val))
