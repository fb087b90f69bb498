"""An RPC server whose handlers receive message fields from the network (style of a scheduler)."""
import pickle

from .compat import pickle_loads


class Server:
    def __init__(self, handlers):
        self.handlers = handlers


class Scheduler(Server):
    def __init__(self):
        handlers = {
            "register_plugin": self.register_plugin,
            "run_function": self.run_function,
            "identity": self.identity,
        }
        super().__init__(handlers=handlers)

    def register_plugin(self, comm, plugin=None, name=None):
        plugin = pickle.loads(plugin)  # expect: SC106
        return name, plugin

    async def run_function(self, comm, function=None, args=()):
        func = pickle_loads(function)  # expect: SC106
        return func(*args)

    def identity(self, comm):
        return {"type": "Scheduler"}


class Client:
    async def _handle_report(self):
        while True:
            msgs = await self.scheduler_comm.read()
            for msg in msgs:
                if msg.get("op") == "task-erred":
                    exc = pickle.loads(msg["exception"])  # expect: SC106
                    tb = pickle.loads(msg["traceback"])  # expect: SC106
                    self._report(exc, tb)

    def _report(self, exc, tb):
        pass
