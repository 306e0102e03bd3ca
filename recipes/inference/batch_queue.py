"""Concurrent requests for one model, tagged in one model call.

    queue = BatchQueue(tagger)                          # one per loaded model
    results = await queue.tag([["leave", "taipei", "on", "november", "2nd"]])

`BatchQueue` gathers the sentences of every request that arrives while the
model is busy and tags them in one call of `Tagger.tag_words` (on a worker
thread, so the event loop keeps accepting requests): under load the model
sees full batches, as `Tagger.tag` does when it is given a whole list,
instead of one small call per request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools

from data.batching import DEFAULT_BUCKETS, bucket_length


def warm_up_shapes(batch_size, buckets=DEFAULT_BUCKETS):
    """`(length, rows)` of every batch shape `Tagger.tag` can call the model with
    (rows: powers of two up to `batch_size`), one-row batches of every length first:
    they are what single-sentence requests need."""
    rows = [1]
    while rows[-1] * 2 <= batch_size:
        rows.append(rows[-1] * 2)
    return [(length, count) for count in rows for length in buckets]


class BatchQueue:
    """Tags the sentences of concurrent requests for one model in one `Tagger.tag_words` call.

    A request waits while a call runs; when it ends, every request that arrived
    meanwhile goes into the next call, up to `max_sentences` sentences. A
    lone request is tagged at once: nothing waits for a batch to fill.
    """

    def __init__(self, tagger, max_sentences=256, batch_size=64):
        self.tagger = tagger
        self.max_sentences = max_sentences
        self.batch_size = batch_size
        # One thread: the model is called by one batch at a time, and the
        # event loop stays free to read the next requests meanwhile.
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagger")
        self._pending = []
        self._worker = None
        self.calls = 0  # batched model calls (Tagger.tag) and the sentences they tagged
        self.sentences = 0
        self.shapes_warm = 0

    async def warm_up(self, shapes):
        """Calls the model once on each `(length, rows)` shape, one at a time on the
        model's thread: a request that comes meanwhile waits for one shape at most."""
        loop = asyncio.get_running_loop()
        for length, rows in shapes:
            sentences = [["the"] * length] * rows
            await loop.run_in_executor(self._executor, self.tagger.tag_words, sentences, self.batch_size)
            self.shapes_warm += 1

    async def tag(self, words):
        """The results of `Tagger.tag_words` for sentences given as lists of words."""
        if not words:
            return []
        future = asyncio.get_running_loop().create_future()
        self._pending.append((words, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self):
        loop = asyncio.get_running_loop()
        while self._pending:
            taken, count = [], 0
            while self._pending and (not taken or count + len(self._pending[0][0]) <= self.max_sentences):
                words, future = self._pending.pop(0)
                taken.append((words, future))
                count += len(words)
            sentences = [sentence for words, _ in taken for sentence in words]
            # A call of at most one batch pads all its sentences to the longest one's
            # length: one model call instead of one per length, measured 17% faster for
            # 16 test sentences of the travel data (a wash at 128).
            longest = max(len(sentence) for words, _ in taken for sentence in words)
            buckets = (bucket_length(longest),) if len(sentences) <= self.batch_size else DEFAULT_BUCKETS
            call = functools.partial(self.tagger.tag_words, sentences, self.batch_size, buckets)
            try:
                results = await loop.run_in_executor(self._executor, call)
            except Exception as error:  # reported to every request of the batch, and the queue goes on
                for _, future in taken:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.calls += 1
            self.sentences += len(sentences)
            start = 0
            for words, future in taken:
                if not future.done():  # a request whose client went away is skipped
                    future.set_result(results[start : start + len(words)])
                start += len(words)

    def close(self):
        self._executor.shutdown(wait=False, cancel_futures=True)
