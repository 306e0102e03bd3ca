"""Every command of the project fails one way (`data.command_line`): a bad flag is one line,
`python -m <module>: error: <message>`, on standard error and exit status 2, never a traceback.

The commands: every recipe, `recipes.tune`, `predict`, `serve`, `export`, `lecture`,
`python -m data`, and every module of `benchmarks/` that defines `main` (found by
scanning, so that a new benchmark is covered as soon as it exists). Each `main` is
called in this process with a flag that does not exist, after the arguments it requires
(`REQUIRED`: argparse reports a missing one before an unknown flag); nothing trains.

The source rule, checked on every module of `recipes/`, `data/` and `benchmarks/`
except `data/command_line.py` (the one place that prints the line and exits):

- no `raise SystemExit`, and no call of `sys.exit`, `os._exit`, `exit` or `quit`, but for
  the one statement `sys.exit(main())` as the whole body of a module-level
  `if __name__ == "__main__":` (a command whose `main` returns its exit status, as
  `python -m data`'s; `main` itself has already turned every error into the line);
- no call of a parser's `error` or `exit` (`parser.error(...)`, `subparser.exit(...)`:
  any receiver whose name holds "parser"): bad input raises `UsageError` instead;
- no `print(...)` or `.write(...)` of a text holding `error:`: the line is
  `run_command`'s to print.
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

from data.command_line import CommandError

REPO_ROOT = Path(__file__).resolve().parent.parent
RECIPES = ["elman", "jordan", "lstm", "peephole_lstm", "gru", "feedforward"]
KNOWN_BENCHMARKS = {
    "layer_speed",
    "page_screenshot",
    "patience",
    "predict_speed",
    "projected_loop",
    "quality",
    "serve_load",
    "train_speed",
}
BAD_FLAG = ["--no-such-flag", "1"]
# What a command needs before the bad flag, so that argparse reports the flag rather than a
# missing required argument (it checks those first): its required arguments, with values
# they take at parse time. A new command that requires some needs its entry here.
REQUIRED = {
    "recipes.predict": ["--model-dir", "runs/none"],
    "recipes.serve": ["--model-dir", "runs/none"],
    "recipes.export": ["--model-dir", "runs/none"],
    "data": ["describe", "travel"],
    "benchmarks.page_screenshot": ["--model-dir", "runs/none"],
    "benchmarks.patience": ["runs/none"],
    "benchmarks.predict_speed": ["--model-dir", "runs/none", "--data", "travel"],
    "benchmarks.quality": ["--data", "travel"],
    "benchmarks.serve_load": ["--model-dir", "runs/none"],
    "benchmarks.train_speed": ["--data", "travel"],
}


def benchmark_commands():
    """The modules of `benchmarks/` that define `main`, by name."""
    return sorted(
        path.stem
        for path in (REPO_ROOT / "benchmarks").glob("*.py")
        if re.search(r"^def main\(", path.read_text(encoding="utf-8"), re.M)
    )


COMMANDS = (
    [f"recipes.{name}" for name in RECIPES]
    + [f"recipes.{name}" for name in ("tune", "predict", "serve", "export", "lecture")]
    + ["data"]
    + [f"benchmarks.{name}" for name in benchmark_commands()]
)


def test_the_scan_finds_every_known_benchmark():
    assert KNOWN_BENCHMARKS <= set(benchmark_commands())


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_flag_is_one_line_and_exit_status_2(command, capsys):
    module = importlib.import_module("data.__main__" if command == "data" else command)
    capsys.readouterr()  # whatever importing it printed
    with pytest.raises(SystemExit) as exit_info:
        module.main([*REQUIRED.get(command, []), *BAD_FLAG])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "the following arguments are required" not in error, f"{command}: add its required arguments to REQUIRED"
    assert error.endswith("\n") and error.count("\n") == 1, error
    assert error.startswith(f"python -m {command}: error: "), error
    assert "--no-such-flag" in error and "Traceback" not in error


@pytest.mark.parametrize("name", benchmark_commands())
def test_the_benchmarks_errors_are_the_projects(name):
    """Their own error classes are kinds of `CommandError`, told apart by class, never by text."""
    module = importlib.import_module(f"benchmarks.{name}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == module.__name__:
            assert issubclass(value, CommandError), value


def called_name(call):
    """`sys.exit`, `parser.error`, `print`: the dotted name a call's function is written as."""
    parts, node = [], call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def is_main_guard(node):
    """`if __name__ == "__main__":`"""
    test = node.test if isinstance(node, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def texts(node):
    """The string constants inside `node` (the literal parts of f-strings among them)."""
    return [part.value for part in ast.walk(node) if isinstance(part, ast.Constant) and isinstance(part.value, str)]


def exits_by_hand(path):
    """`(line, what)` for every place of `path` that breaks the module docstring's rule."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    allowed = set()  # the `sys.exit(main())` calls that are the whole body of a main guard
    for node in tree.body:
        if is_main_guard(node) and len(node.body) == 1 and isinstance(node.body[0], ast.Expr):
            call = node.body[0].value
            if (
                isinstance(call, ast.Call)
                and called_name(call) == "sys.exit"
                and len(call.args) == 1
                and isinstance(call.args[0], ast.Call)
                and called_name(call.args[0]) == "main"
                and not call.args[0].args
            ):
                allowed.add(id(call))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id == "SystemExit":
                problems.append((node.lineno, "raise SystemExit"))
        if not isinstance(node, ast.Call):
            continue
        name = called_name(node)
        receiver, _, method = name.rpartition(".")
        if name in ("sys.exit", "os._exit", "exit", "quit") and id(node) not in allowed:
            problems.append((node.lineno, f"{name}(...)"))
        if method in ("error", "exit") and "parser" in receiver.rpartition(".")[2].lower():
            problems.append((node.lineno, f"{name}(...)"))
        if name == "print" or method == "write":
            arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
            if any("error:" in text for argument in arguments for text in texts(argument)):
                problems.append((node.lineno, f"{name}(... error: ...)"))
    return problems


def test_no_command_exits_or_prints_its_error_by_hand():
    sources = sorted(
        path
        for folder in ("recipes", "data", "benchmarks")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if path != REPO_ROOT / "data" / "command_line.py"
    )
    assert len(sources) > 20
    found = {str(path.relative_to(REPO_ROOT)): exits_by_hand(path) for path in sources}
    assert {path: problems for path, problems in found.items() if problems} == {}


def test_the_rule_catches_what_it_forbids(tmp_path):
    """The scan itself: each forbidden form is found, the one allowed guard is not."""
    source = tmp_path / "command.py"
    source.write_text(
        "import sys\n"
        "def main(argv=None):\n"
        "    parser.error('bad')\n"  # line 3
        "    print(f'prog: error: {argv}', file=sys.stderr)\n"  # line 4
        "    sys.stderr.write('prog: error: x')\n"  # line 5
        "    raise SystemExit(2)\n"  # line 6
        "def other():\n"
        "    sys.exit(1)\n"  # line 8
        "if __name__ == '__main__':\n"
        "    sys.exit(main())\n",
        encoding="utf-8",
    )
    assert sorted(line for line, _ in exits_by_hand(source)) == [3, 4, 5, 6, 8]
