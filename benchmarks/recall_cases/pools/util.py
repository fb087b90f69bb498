"""Executor mixins, composed into test classes in other modules (style of a futures test suite)."""
import multiprocessing
import unittest
from concurrent import futures


class ExecutorMixin:
    worker_count = 4
    executor_kwargs = {}

    def setUp(self):
        super().setUp()
        if hasattr(self, "ctx"):
            self.executor = self.executor_type(
                max_workers=self.worker_count,
                mp_context=self.get_context(),
                **self.executor_kwargs)
        else:
            self.executor = self.executor_type(max_workers=self.worker_count, **self.executor_kwargs)

    def tearDown(self):
        self.executor.shutdown(wait=True)
        self.executor = None
        super().tearDown()

    def get_context(self):
        return multiprocessing.get_context(self.ctx)


class ThreadPoolMixin(ExecutorMixin):
    executor_type = futures.ThreadPoolExecutor


class ProcessPoolSpawnMixin(ExecutorMixin):
    executor_type = futures.ProcessPoolExecutor
    ctx = "spawn"


class PoolMixin:
    """A multiprocessing pool kept on the test case."""

    def setUp(self):
        self._ctx = multiprocessing.get_context("spawn")
        self.pool = self._ctx.Pool(2)

    def tearDown(self):
        self.pool.terminate()


class BaseTestCase(unittest.TestCase):
    pass
