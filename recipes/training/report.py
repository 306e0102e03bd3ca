"""What a run prints: the scores, the worst slots, and tagged sentences.

test: slot precision 0.9512  recall 0.9480  F1 0.9496  (token accuracy 0.9871, sentence accuracy 0.8802)
test: intent accuracy 0.9720  frame accuracy 0.8690  (intent and every tag right)
Worst 5 slots on test:
...
Worst 5 intents on test:
...
  leave     O
  taipei    B-fromloc.city_name
  slots: {"fromloc.city_name": "taipei"}
"""

import json

import keras


def print_start(name, dataset, encoder, model, run_dir):
    print(
        f"{name}: {len(dataset.train)} train / {len(dataset.dev)} dev / {len(dataset.test)} test sentences "
        f"from {dataset.name}, {encoder.num_tags} tags, {intent_count(encoder, model)}"
        f"{model.count_params():,} parameters, "
        f"backend {keras.backend.backend()}; run folder {run_dir}"
    )


def intent_count(encoder, model):
    """ "26 intents, " for a model with an intent head, else nothing."""
    return f"{encoder.num_intents} intents, " if isinstance(model.output, dict) else ""


def print_results(dev, test, metrics, train_seconds, run_dir):
    print()
    print_scores("dev", dev, worst=0)
    print_scores("test", test)
    print(
        f"trained {metrics['epochs']} epochs in {train_seconds:.1f} s (best dev epoch {metrics['best_epoch']}); "
        f"run folder: {run_dir}"
    )
    if test.get("context"):
        print_context("test", test["context"])


def summary(result):
    """What `metrics.json` keeps of a split's scores (`context` only where the data marks it)."""
    keys = (
        "precision",
        "recall",
        "f1",
        "token_accuracy",
        "sentence_accuracy",
        "intent_accuracy",
        "frame_accuracy",
        "context",
    )
    return {key: result[key] for key in keys if key in result}


def print_context(name, context):
    """The ambiguity as a number: accuracy on the words whose slot a cue elsewhere decides."""
    if not context["count"]:
        return
    by_distance = ", ".join(
        f"{bucket['distances']} {bucket['accuracy']:.3f} ({bucket['count']})" for bucket in context["by_distance"]
    )
    print(
        f"{name}: context accuracy {context['accuracy']:.4f} on the {context['count']:,} words whose slot a cue "
        f"elsewhere in the sentence decides; by words from the cue: {by_distance}"
    )


def print_scores(name, result, worst=5):
    print(
        f"{name}: slot precision {result['precision']:.4f}  recall {result['recall']:.4f}  "
        f"F1 {result['f1']:.4f}  (token accuracy {result['token_accuracy']:.4f}, "
        f"sentence accuracy {result['sentence_accuracy']:.4f})"
    )
    if "intent_accuracy" in result:
        print(
            f"{name}: intent accuracy {result['intent_accuracy']:.4f}  frame accuracy {result['frame_accuracy']:.4f}  "
            "(intent and every tag right)"
        )
    for kind in ("slot", "intent"):
        table = result.get(f"per_{kind}")
        if table is None:
            continue
        table = table[table["support"] > 0].sort_values(["f1", "support"], ascending=[True, False])
        if worst and len(table):
            print(f"Worst {min(worst, len(table))} {kind}s on {name}:")
            print(table.head(worst).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def print_tagged(tagged):
    for result in tagged:
        width = max([len(w) for w in result["words"]] + [4])
        for word, tag in zip(result["words"], result["tags"]):
            print(f"  {word:<{width}}  {tag}")
        print(f"  slots: {json.dumps(result['slots'])}")
        if result.get("intent") is not None:
            print(f"  intent: {result['intent']} ({result['intent_confidence']:.3f})")
        print()
