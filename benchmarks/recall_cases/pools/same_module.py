"""A service whose pool and context live on attributes set up by a base class in the same module."""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


class Service:
    def __init__(self):
        self._ctx = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(mp_context=self._ctx)
        self.io = ThreadPoolExecutor()


class Crawler(Service):
    def crawl(self, urls):
        def fetch(url):
            return url

        io_results = list(self.io.map(fetch, urls))
        return list(self.pool.map(fetch, urls)) + io_results  # expect: SC101

    def spawn_one(self, handler):
        proc = self._ctx.Process(target=lambda: handler())  # expect: SC101
        proc.start()
        return proc
