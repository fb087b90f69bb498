"""Tests that get their executor from a mixin in another module."""
from .util import BaseTestCase, PoolMixin, ProcessPoolSpawnMixin, ThreadPoolMixin


class SpawnShutdownTest(ProcessPoolSpawnMixin, BaseTestCase):
    def test_processes_terminate(self):
        def acquire_lock(lock):
            lock.acquire()

        sem = self.get_context().Semaphore(0)
        for _ in range(3):
            self.executor.submit(acquire_lock, sem)  # expect: SC101
        self.executor.shutdown()

    def test_local_job(self):
        class Job:
            pass

        self.executor.submit(print, Job())  # expect: SC103


class ThreadShutdownTest(ThreadPoolMixin, BaseTestCase):
    def test_nested_is_fine_in_threads(self):
        def work():
            return 1

        self.executor.submit(work).result()


class PoolTest(PoolMixin, BaseTestCase):
    def test_map(self):
        self.assertEqual(self.pool.map(lambda x: x, [1]), [1])  # expect: SC101
