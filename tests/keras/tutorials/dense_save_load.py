# The "save and load models" tutorial: a Dense classifier on flattened MNIST, trained with
# validation_data, saved whole and loaded back. tf.keras style; the test changes only
# `import tensorflow as tf` -> `from minigrad import keras` and `tf.keras.` -> `keras.`.
import tensorflow as tf

(train_images, train_labels), (test_images, test_labels) = tf.keras.datasets.mnist.load_data()

train_labels = train_labels[:1000]
test_labels = test_labels[:1000]
train_images = train_images[:1000].reshape(-1, 28 * 28) / 255.0
test_images = test_images[:1000].reshape(-1, 28 * 28) / 255.0


def create_model():
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(512, activation="relu", input_shape=(784,)),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])
    return model


model = create_model()
model.summary()
history = model.fit(train_images, train_labels, epochs=5,
                    validation_data=(test_images, test_labels))

model.save("my_model.keras")
new_model = tf.keras.models.load_model("my_model.keras")
new_model.summary()
loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
print("Restored model, accuracy: {:5.2f}%".format(100 * acc))
print(new_model.predict(test_images).shape)
