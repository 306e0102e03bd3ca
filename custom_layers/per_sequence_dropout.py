"""What the two custom recurrent cells share: argument checks and per-sequence dropout.

Keras's own cells draw one dropout mask per sequence (the same units dropped
at every step) through a mixin that lives outside Keras's public API. These
mixins do the same with public calls only:

    class JordanRNNCell(PerSequenceDropoutCell, keras.layers.Layer):
        sequence_layer = "JordanRNN"          # named in the error raised outside it
        ...
        inputs, y_tm1 = self.apply_dropout(inputs, y_tm1, training)

    class JordanRNN(PerSequenceDropoutRNN, keras.layers.RNN):
        ...                                   # draws the masks once per batch, before the loop

The cell needs `dropout`, `recurrent_dropout` and `seed_generator` attributes.
"""

import numbers

import keras
from keras import ops


def check_positive_integer(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a positive integer, got {value!r}."
        )


def check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a float in [0, 1), got {value!r}.")


class PerSequenceDropoutCell:
    """Dropout masks drawn once per sequence, applied at every step of it."""

    sequence_layer = "the layer"  # the class that runs this cell over sequences
    _dropout_masks = None  # per-sequence masks, present only while that layer runs its loop

    def draw_dropout_masks(self, step_input, previous_output):
        """Draws the per-sequence dropout masks used until `clear_dropout_masks`.

        The sequence layer calls this once before its loop, outside the loop,
        so that the random draw (and the seed generator's update) happens once
        per batch on every backend.

        Args:
            step_input: A tensor shaped like one step of the input,
                `(batch, features)`.
            previous_output: A tensor shaped like the memory that is fed
                back, `(batch, state features)`.
        """
        input_mask = None
        recurrent_mask = None
        if self.dropout > 0:
            input_mask = keras.random.dropout(ops.ones_like(step_input), rate=self.dropout, seed=self.seed_generator)
        if self.recurrent_dropout > 0:
            recurrent_mask = keras.random.dropout(
                ops.ones_like(previous_output),
                rate=self.recurrent_dropout,
                seed=self.seed_generator,
            )
        self._dropout_masks = (input_mask, recurrent_mask)

    def clear_dropout_masks(self):
        """Forgets the masks drawn by `draw_dropout_masks`."""
        self._dropout_masks = None

    def apply_dropout(self, inputs, previous_output, training):
        """`inputs` and the fed-back memory with this sequence's masks applied."""
        if not training or (self.dropout == 0 and self.recurrent_dropout == 0):
            return inputs, previous_output
        if self._dropout_masks is None:
            name, layer = type(self).__name__, self.sequence_layer
            raise ValueError(
                f"{name} draws its per-sequence dropout masks in "
                f"{layer}. Run the cell through {layer}, or set "
                "dropout=0 and recurrent_dropout=0 to run it in "
                f"keras.layers.RNN (got dropout={self.dropout}, "
                f"recurrent_dropout={self.recurrent_dropout})."
            )
        input_mask, recurrent_mask = self._dropout_masks
        if input_mask is not None:
            inputs = inputs * input_mask
        if recurrent_mask is not None:
            previous_output = previous_output * recurrent_mask
        return inputs, previous_output


class PerSequenceDropoutRNN:
    """A `keras.layers.RNN` whose cell is a `PerSequenceDropoutCell`: the
    masks are drawn once per batch, before the loop over time steps."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        run_loop = super().inner_loop
        if not training or (cell.dropout == 0 and cell.recurrent_dropout == 0):
            return run_loop(sequences, initial_state, mask=mask, training=training)
        # Draw the per-sequence masks here, outside the loop, once per batch.
        cell.draw_dropout_masks(sequences[:, 0, :], initial_state[0])
        try:
            return run_loop(sequences, initial_state, mask=mask, training=training)
        finally:
            cell.clear_dropout_masks()
