"""A script that starts workers at import time through a context object."""
import multiprocessing


def square(x):
    return x * x


_ctx = multiprocessing.get_context("spawn")
_pool = _ctx.Pool(2)  # expect: SC109
print(_pool.map(square, range(4)))

if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(square, range(4))
