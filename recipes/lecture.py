"""
Title: The lecture's worked examples, step by step
Description: Elman and Jordan memories, the "human LSTM" and parameter counts, computed by real Keras layers.

A lecture on recurrent networks works a few tiny networks by hand. Here each
one is built from Keras layers with its weights set by hand, and run step by
step, printing the memory, the gates and the output, so the numbers on the
slides can be checked against what the layers compute:

1. Elman memory (Elman 1990): two inputs, two hidden neurons, two outputs,
   every weight 1, no bias, linear activations. The memory is the previous
   hidden layer; the inputs [1, 1], [1, 1], [2, 2] give the outputs [4, 4],
   [12, 12], [32, 32], and the same inputs in another order give other
   outputs: the network remembers order.
2. Jordan memory (Jordan 1986): the same weights, but the memory is the
   previous output, so it grows faster: [4, 4], [20, 20], [88, 88].
3. The "human LSTM" (Hochreiter and Schmidhuber 1997): one cell whose gates
   are set by hand, cell input x1, input gate sigma(100 x2 - 10), forget gate
   sigma(100 x2 + 10), output gate sigma(100 x3 - 10). x2 = 1 writes x1 into
   the memory (adding to it), x2 = -1 erases it and x3 = 1 reads it out. Run
   with `keras.layers.LSTM` and with `custom_layers` `PeepholeLSTM` whose
   peepholes are zero: both give the same numbers.
4. Parameter counts: what one layer of each kind costs, by formula and by
   Keras's `count_params()`.

Run it:

    python -m recipes.lecture
    python -m recipes.lecture --example human-lstm
"""

import keras
import numpy as np

from custom_layers.jordan import JordanRNN
from custom_layers.peephole import PeepholeLSTM
from data.command_line import Parser, command

EXAMPLES = ("elman", "jordan", "human-lstm", "parameters")

# The Elman and Jordan examples: three two-dimensional inputs, then the same in another order.
MEMORY_INPUTS = np.array([[1, 1], [1, 1], [2, 2]], dtype="float32")
REORDERED_INPUTS = np.array([[2, 2], [1, 1], [1, 1]], dtype="float32")

# The human LSTM: columns x1 (the value), x2 (write +1 / erase -1), x3 (read out).
HUMAN_LSTM_SEQUENCE = np.array(
    [
        [1, 0, 0],
        [3, 1, 0],
        [2, 0, 0],
        [4, 1, 0],
        [2, 0, 0],
        [1, 0, 1],
        [3, -1, 0],
        [6, 1, 0],
        [1, 0, 1],
    ],
    dtype="float32",
)
HUMAN_LSTM_SHORT_SEQUENCE = np.array([[3, 1, 0], [4, 1, 0], [2, 0, 0], [1, 0, 1], [3, -1, 0]], dtype="float32")

# Layer sizes (input size, units) for the parameter table.
PARAMETER_SIZES = ((2, 2), (100, 128), (300, 64))
JORDAN_OUTPUT_UNITS = 10  # Output units of the Jordan layers in the table (say, ten tags)


# ---------------------------------------------------------------------------
# 1 and 2: Elman and Jordan memories
# ---------------------------------------------------------------------------


def build_elman_example():
    """SimpleRNN(2) + Dense(2), every weight 1, no bias, linear: outputs (memory, output)."""
    inputs = keras.Input((None, 2))
    memory = keras.layers.SimpleRNN(
        2,
        activation="linear",
        use_bias=False,
        kernel_initializer="ones",  # W
        recurrent_initializer="ones",  # U
        return_sequences=True,
    )(inputs)
    outputs = keras.layers.Dense(2, use_bias=False, kernel_initializer="ones")(memory)  # V
    return keras.Model(inputs, [memory, outputs], name="elman_example")


def run_elman(model, inputs):
    """Returns the hidden layer h_t and the output y_t at each step, shape (steps, 2)."""
    memory, outputs = model.predict_on_batch(inputs[None])
    return memory[0], outputs[0]


def build_jordan_example():
    """JordanRNN(2, output_units=2), every weight 1, no bias, linear activations."""
    return JordanRNN(
        2,
        output_units=2,
        activation="linear",
        output_activation="linear",
        use_bias=False,
        kernel_initializer="ones",  # W
        recurrent_initializer="ones",  # U
        output_initializer="ones",  # V
        return_sequences=True,
    )


def run_jordan(layer, inputs):
    """Returns the hidden layer h_t and the output y_t at each step, shape (steps, 2).

    The outputs come from the layer; the hidden layer, which the layer does not
    return, is recomputed from its weights: h_t = W x_t + U y_{t-1}.
    """
    outputs = keras.ops.convert_to_numpy(layer(inputs[None]))[0]
    kernel, recurrent_kernel, _ = layer.get_weights()  # W, U, V
    memories = np.concatenate([np.zeros((1, outputs.shape[1])), outputs[:-1]])
    hidden = inputs @ kernel + memories @ recurrent_kernel
    return hidden, outputs


# ---------------------------------------------------------------------------
# 3: the human LSTM
# ---------------------------------------------------------------------------


def human_lstm_weights():
    """Kernel (3, 4), recurrent kernel (1, 4) and bias (4,), gates in Keras's order i, f, c, o."""
    kernel = np.zeros((3, 4), dtype="float32")
    kernel[1, 0] = 100.0  # input gate: 100 x2 - 10
    kernel[1, 1] = 100.0  # forget gate: 100 x2 + 10
    kernel[0, 2] = 1.0  # cell input: x1
    kernel[2, 3] = 100.0  # output gate: 100 x3 - 10
    recurrent_kernel = np.zeros((1, 4), dtype="float32")  # the gates ignore h_{t-1}
    bias = np.array([-10.0, 10.0, 0.0, -10.0], dtype="float32")
    return [kernel, recurrent_kernel, bias]


def build_human_lstm(peephole=False):
    """One LSTM cell with linear g and h and the gates above.

    With `peephole=True` it is a `PeepholeLSTM` whose three peephole weights
    are zero, loaded the way a trained LSTM's weights are loaded.
    """
    layer_class = PeepholeLSTM if peephole else keras.layers.LSTM
    # The weights are set by hand below: zeros only skip the random draws.
    initializers = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros"}
    if peephole:
        initializers["peephole_initializer"] = "zeros"
    layer = layer_class(1, activation="linear", return_sequences=True, **initializers)
    layer.build((None, None, 3))
    weights = human_lstm_weights()
    if peephole:
        weights += [np.zeros(1, dtype="float32")] * 3
    layer.set_weights(weights)
    return layer


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the logistic sigmoid, without overflow


def trace_human_lstm(layer, sequence):
    """Runs the layer's cell one step at a time; returns gates, memory and output per step.

    Memory and output come from the Keras cell; the gates, which the cell does
    not return, are recomputed from the layer's weights.
    """
    kernel, recurrent_kernel, bias, *peepholes = layer.get_weights()
    peephole_i, peephole_f, peephole_o = peepholes or [np.zeros(1)] * 3
    h = keras.ops.zeros((1, 1))
    c = keras.ops.zeros((1, 1))
    trace = {name: [] for name in ("input_gate", "forget_gate", "output_gate", "memory", "output")}
    for x in sequence:
        c_previous = keras.ops.convert_to_numpy(c)[0]
        z = x @ kernel + keras.ops.convert_to_numpy(h)[0] @ recurrent_kernel + bias
        h, (h, c) = layer.cell(x[None], [h, c])
        c_now = keras.ops.convert_to_numpy(c)[0]
        trace["input_gate"].append(_sigmoid(z[0] + peephole_i[0] * c_previous[0]))
        trace["forget_gate"].append(_sigmoid(z[1] + peephole_f[0] * c_previous[0]))
        trace["output_gate"].append(_sigmoid(z[3] + peephole_o[0] * c_now[0]))
        trace["memory"].append(c_now[0])
        trace["output"].append(keras.ops.convert_to_numpy(h)[0, 0])
    return {name: np.array(values) for name, values in trace.items()}


# ---------------------------------------------------------------------------
# 4: parameter counts
# ---------------------------------------------------------------------------


def simple_rnn_parameters(input_dim, units):
    """W (input_dim x units) + U (units x units) + b (units)."""
    return units * (input_dim + units) + units


def lstm_parameters(input_dim, units):
    """Four transforms (i, f, c, o), each the size of a SimpleRNN's: 4 (units (input_dim + units) + units)."""
    return 4 * simple_rnn_parameters(input_dim, units)


def gru_parameters(input_dim, units, reset_after=True):
    """Three transforms (z, r, h); reset_after=True (Keras's default) adds a second bias to each.

    reset_after=True: 3 (units (input_dim + units) + 2 units); False: 3 (units (input_dim + units) + units).
    """
    biases = 2 if reset_after else 1
    return 3 * (units * (input_dim + units) + biases * units)


def peephole_lstm_parameters(input_dim, units, peephole="diagonal"):
    """An LSTM plus 3 units peephole weights (diagonal) or 4 units^2 (full)."""
    extra = 3 * units if peephole == "diagonal" else 4 * units * units
    return lstm_parameters(input_dim, units) + extra


def jordan_parameters(input_dim, units, output_units):
    """W (input_dim x units) + U (output_units x units) + b + V (units x output_units) + c."""
    return units * (input_dim + output_units) + units + units * output_units + output_units


def parameter_table(sizes=PARAMETER_SIZES, output_units=JORDAN_OUTPUT_UNITS):
    """Rows (layer, input_dim, units, formula count, Keras count_params())."""
    # The counts do not depend on the initial values: zeros skip the random draws.
    zeros = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros"}
    peephole_zeros = dict(zeros, peephole_initializer="zeros")
    rows = []
    for input_dim, units in sizes:
        layers = [
            ("SimpleRNN", keras.layers.SimpleRNN(units, **zeros), simple_rnn_parameters(input_dim, units)),
            ("LSTM", keras.layers.LSTM(units, **zeros), lstm_parameters(input_dim, units)),
            ("GRU", keras.layers.GRU(units, **zeros), gru_parameters(input_dim, units)),
            (
                "GRU(reset_after=False)",
                keras.layers.GRU(units, reset_after=False, **zeros),
                gru_parameters(input_dim, units, reset_after=False),
            ),
            (
                "PeepholeLSTM",
                PeepholeLSTM(units, **peephole_zeros),
                peephole_lstm_parameters(input_dim, units),
            ),
            (
                'PeepholeLSTM("full")',
                PeepholeLSTM(units, peephole="full", **peephole_zeros),
                peephole_lstm_parameters(input_dim, units, "full"),
            ),
            (
                f"JordanRNN(output_units={output_units})",
                JordanRNN(units, output_units, output_initializer="zeros", **zeros),
                jordan_parameters(input_dim, units, output_units),
            ),
        ]
        for name, layer, formula in layers:
            layer.build((None, None, input_dim))
            rows.append((name, input_dim, units, formula, layer.count_params()))
    return rows


# ---------------------------------------------------------------------------
# The walk-through
# ---------------------------------------------------------------------------


def _vector(values):
    return "[" + ", ".join(f"{value:g}" for value in np.round(values, 3)) + "]"


def show_elman():
    print("1. Elman network: the memory is the previous hidden layer")
    print("   h_t = W x_t + U h_{t-1},  y_t = V h_t;  every weight 1, no bias, linear, h_0 = 0")
    model = build_elman_example()
    for inputs in (MEMORY_INPUTS, REORDERED_INPUTS):
        hidden, outputs = run_elman(model, inputs)
        memories = np.concatenate([np.zeros((1, 2)), hidden[:-1]])
        print(f"   {'step':>4}  {'input x_t':>10}  {'memory h_t-1':>12}  {'hidden h_t':>10}  {'output y_t':>10}")
        for step, (x, memory, h, y) in enumerate(zip(inputs, memories, hidden, outputs), start=1):
            print(f"   {step:>4}  {_vector(x):>10}  {_vector(memory):>12}  {_vector(h):>10}  {_vector(y):>10}")
        print()
    print("   Same inputs, another order, other outputs: the memory keeps the order.\n")


def show_jordan():
    print("2. Jordan network: the memory is the previous output")
    print("   h_t = W x_t + U y_{t-1},  y_t = V h_t;  every weight 1, no bias, linear, y_0 = 0")
    layer = build_jordan_example()
    for inputs in (MEMORY_INPUTS, REORDERED_INPUTS):
        hidden, outputs = run_jordan(layer, inputs)
        memories = np.concatenate([np.zeros((1, 2)), outputs[:-1]])
        print(f"   {'step':>4}  {'input x_t':>10}  {'memory y_t-1':>12}  {'hidden h_t':>10}  {'output y_t':>10}")
        for step, (x, memory, h, y) in enumerate(zip(inputs, memories, hidden, outputs), start=1):
            print(f"   {step:>4}  {_vector(x):>10}  {_vector(memory):>12}  {_vector(h):>10}  {_vector(y):>10}")
        print()


def show_human_lstm():
    print("3. The human LSTM: one cell, gates set by hand, linear g and h")
    print("   cell input x1; input gate sigma(100 x2 - 10); forget gate sigma(100 x2 + 10);")
    print("   output gate sigma(100 x3 - 10); c_t = f c_{t-1} + i x1; y_t = o c_t")
    lstm = build_human_lstm()
    peephole = build_human_lstm(peephole=True)
    for sequence in (HUMAN_LSTM_SEQUENCE, HUMAN_LSTM_SHORT_SEQUENCE):
        trace = trace_human_lstm(lstm, sequence)
        print(
            f"   {'step':>4} {'x1':>3} {'x2':>3} {'x3':>3}  {'input':>6} {'forget':>6} {'output':>6}"
            f"  {'memory c_t':>10}  {'output y_t':>10}"
        )
        for step, x in enumerate(sequence):
            gates = (trace["input_gate"][step], trace["forget_gate"][step], trace["output_gate"][step])
            print(
                f"   {step + 1:>4} {x[0]:>3g} {x[1]:>3g} {x[2]:>3g}  "
                + " ".join(f"{gate:>6.3f}" for gate in gates)
                + f"  {trace['memory'][step]:>10.3f}  {trace['output'][step]:>10.3f}"
            )
        lstm_outputs = keras.ops.convert_to_numpy(lstm(sequence[None]))[0, :, 0]
        peephole_outputs = keras.ops.convert_to_numpy(peephole(sequence[None]))[0, :, 0]
        print(f"   keras.layers.LSTM outputs:  {_vector(lstm_outputs)}")
        print(f"   PeepholeLSTM (zero peepholes): {_vector(peephole_outputs)}\n")


def show_parameters():
    print("4. Parameters of one layer (input size n, units u)")
    print("   SimpleRNN  u (n + u) + u")
    print("   LSTM       4 (u (n + u) + u)             four SimpleRNN-sized transforms: i, f, c, o")
    print("   GRU        3 (u (n + u) + 2 u)           three transforms: z, r, h; reset_after=True (default)")
    print("              3 (u (n + u) + u)             with reset_after=False: exactly three SimpleRNNs")
    print("   Peephole   LSTM + 3 u (diagonal), LSTM + 4 u^2 (full)")
    print("   Jordan     u (n + m) + u + u m + m       m output units")
    print(f"   {'layer':<28} {'n':>4} {'u':>4} {'formula':>9} {'Keras':>9}")
    for name, input_dim, units, formula, counted in parameter_table():
        print(f"   {name:<28} {input_dim:>4} {units:>4} {formula:>9} {counted:>9}")
    print()


SHOW = {
    "elman": show_elman,
    "jordan": show_jordan,
    "human-lstm": show_human_lstm,
    "parameters": show_parameters,
}


@command("python -m recipes.lecture")
def main(argv=None):
    parser = Parser(
        prog="python -m recipes.lecture",
        description="Print the lecture's worked examples step by step, computed by Keras layers.",
    )
    parser.add_argument(
        "--example",
        choices=("all",) + EXAMPLES,
        default="all",
        help="which example to show (default: all)",
    )
    args = parser.parse_args(argv)
    for name in EXAMPLES if args.example == "all" else (args.example,):
        SHOW[name]()
    return 0


if __name__ == "__main__":
    main()
