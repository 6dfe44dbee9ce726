"""okdsim core: a single-process stand-in for the Kubernetes API (see test/okdsim/README.md).

`Sim` is the one object plugins (sim.openshift) receive; its names are a binding interface.
"""

import sys
import threading
import time

from .errors import ApiError  # noqa: F401
from .resources import Registry, ResourceType, lookup_type  # noqa: F401
from .store import Store


class Sim:
    def __init__(self, options):
        self.options = options
        self.registry = Registry()
        self.store = Store(self, history_size=getattr(options, "history", 2000) or 2000)
        self.admission = []
        self.controllers = {}
        self.stop_event = threading.Event()
        self.faults = None        # set by server (faults.Faults)
        self.auth = None          # set by server (auth.Authenticator)
        self._log_lock = threading.Lock()

    # ---- plugin API
    def register_type(self, rt):
        self.registry.register(rt)

    def unregister_type(self, group, version, resource):
        self.registry.unregister(group, version, resource)

    def register_subresource(self, group, resource, sub, handler):
        self.registry.subresources[(group, resource, sub)] = handler

    def register_admission(self, fn):
        self.admission.append(fn)

    def start_controller(self, name, fn):
        t = threading.Thread(target=self._run_controller, args=(name, fn), name="ctrl-" + name, daemon=True)
        self.controllers[name] = t
        t.start()

    def _run_controller(self, name, fn):
        try:
            fn(self, self.stop_event)
        except Exception as e:  # keep the server alive, but say so
            import traceback
            self.log("controller %s crashed: %r\n%s", name, e, traceback.format_exc())

    def log(self, fmt, *args):
        if getattr(self.options, "quiet", False):
            return
        msg = fmt % args if args else fmt
        with self._log_lock:
            sys.stderr.write("%s okdsim: %s\n" % (time.strftime("%H:%M:%S"), msg))
            sys.stderr.flush()

    def lookup_type(self, group, resource):
        return lookup_type(self, group, resource)
