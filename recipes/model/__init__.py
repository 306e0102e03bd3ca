"""What a tagger is: the parts every recipe's `build_model` is made of, and what its tags mean.

parts.py        input encodings, tag and intent heads, the loss and optimizer (`compile_model`)
description.py  `ModelDescription`: a built model's inputs and heads, read once
scoring.py      conlleval slot precision, recall and F1; intent and frame accuracy; context accuracy
"""
