"""Import only what answering needs: defer modules that importing scikit-learn pulls in
but that answering a nearest-store query never uses.

scikit-learn 1.9.1 imports `scipy.stats` at module level (in `sklearn.utils.fixes`, for
helpers the KDTree query path never calls), and `scipy.stats` alone was over a third of
the serving image's imports (`python -m bench.cold_start`). Nothing installed is patched.
Instead, `defer(*names)`, called before scikit-learn is imported, installs a meta path
finder: when something first imports a deferred module, it gets a stand-in, the real
module object made from the real spec but not yet executed, so it looks like what it is
(a package has its `__path__`, every module its `__spec__` and `__file__`).

- `import scipy.stats` gets the stand-in and costs nothing.
- `from scipy.stats import rankdata` (what `sklearn.metrics._ranking` does at import)
  and `scipy.stats.chi2` get a `DeferredAttribute`: a forwarder that executes the real
  module on first use, then forwards the call (`rankdata(x)`), the attribute access
  (`chi2.ppf(...)`, `chi2` being a distribution object), `isinstance` and subclassing.
- On first real use, the module is executed *in the stand-in's own module object* (as
  `importlib.util.LazyLoader` does), so every reference to the module is the real
  module; then every forwarder bound into a module's namespace is replaced by the real
  object, so afterwards no stand-in is left anywhere.
- Importing a submodule (`import scipy.stats.mstats`) executes the package first, as a
  normal import would, and each module once.

A wrongly deferred module is therefore slower, never wrong: it is executed at its first
use. `ran()` lists the deferred modules something needed, so the handler can report one
its warm-up needed (it then loads during INIT, as without this module).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types

# Imported by `import sklearn.neighbors` (scikit-learn 1.9.1, scipy 1.17.1, numpy 2.4.6),
# never used by loading the model or answering a query; grouped as measured, one group after
# the other (python -m bench.cold_start). tests/unit/test_lean_imports.py checks that the
# query path runs none of them and that each is still imported (an entry that no longer is
# would be dead).
DEFERRED_GROUPS: dict[str, tuple[str, ...]] = {
    # sklearn.utils.fixes imports it at module level; other modules bind rankdata, gmean, chi2
    "scipy.stats": ("scipy.stats",),
    # imported by scipy.stats and by estimators the query never builds
    "the rest of scipy": (
        "scipy.optimize",
        "scipy.interpolate",
        "scipy.integrate",
        "scipy.spatial",
        "scipy.special",
        "scipy.sparse.linalg",
    ),
    # imported by sklearn.neighbors' __init__; they import linear models, covariances, PCA
    "NCA and NearestCentroid": ("sklearn.neighbors._nca", "sklearn.neighbors._nearest_centroid"),
    # cloned attribute by attribute into scipy's array-API layer (numpy.testing imports unittest)
    "numpy.testing, numpy.f2py": ("numpy.testing", "numpy.f2py"),
}
NOT_ON_THE_QUERY_PATH = tuple(name for group in DEFERRED_GROUPS.values() for name in group)

_lock = threading.RLock()


class DeferredModule(types.ModuleType):
    """A module object whose code has not run yet; it runs on first real use."""

    def __getattr__(self, name: str):
        # Only called for names the (still empty) module does not have.
        if name == "__path__":  # a package has it already: this is a plain module
            raise AttributeError(f"module {self.__name__!r} has no attribute '__path__'")
        if name.startswith("__") and name.endswith("__"):
            return getattr(materialize(self), name)  # `from m import *`, __version__, ...
        forwarders = _forwarders.setdefault(self.__name__, {})
        if name not in forwarders:
            forwarders[name] = DeferredAttribute(self, name)
        return forwarders[name]

    def __dir__(self):
        return dir(materialize(self))


class DeferredAttribute:
    """`module.name` of a deferred module: executes the module on first use, then forwards."""

    __slots__ = ("_module", "_name")

    def __init__(self, module: types.ModuleType, name: str):
        self._module = module
        self._name = name

    def resolve(self):
        return getattr(materialize(self._module), self._name)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.resolve(), name)

    # A deferred class: `isinstance(x, it)`, `issubclass(c, it)` and `class C(it)` work
    # (the last runs the module: a base class is needed at once).
    def __instancecheck__(self, instance) -> bool:
        return isinstance(instance, self.resolve())

    def __subclasscheck__(self, subclass) -> bool:
        return issubclass(subclass, self.resolve())

    def __mro_entries__(self, bases) -> tuple:
        return (self.resolve(),)

    def __repr__(self) -> str:
        return f"<deferred {self._module.__name__}.{self._name}>"


# module name -> {attribute name -> its forwarder}: one forwarder per name (so
# `scipy.stats.chi2 is scipy.stats.chi2` holds before the module runs, as after).
_forwarders: dict[str, dict[str, DeferredAttribute]] = {}


def defer(*names: str) -> None:
    """Defer these modules: from now on, importing one gives its stand-in.

    Nothing is imported here; the stand-in is made when something first imports the
    module (its parent package is imported for real then, as always). Call it before
    anything imports them (for scipy.stats: before scikit-learn). A module already
    imported is left as it is.
    """
    with _lock:
        _to_defer.update(name for name in names if name not in sys.modules)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)


def pending() -> list[str]:
    """The deferred modules whose code has not run."""
    return [name for name, module in list(sys.modules.items()) if isinstance(module, DeferredModule)]


def ran() -> list[str]:
    """The deferred modules whose code ran since (something needed them), in order."""
    return list(_ran)


def materialize(module: types.ModuleType) -> types.ModuleType:
    """Run a deferred module's code in its own module object (once); returns the module."""
    with _lock:
        if not isinstance(module, DeferredModule):
            return module
        module.__class__ = types.ModuleType  # from here on, a normal module, even while it runs
        spec = module.__spec__
        spec._initializing = True  # what the import system sets while a module runs
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(spec.name, None)  # as a failed import leaves it: absent
            raise
        finally:
            spec._initializing = False
        _ran.append(spec.name)
        _rebind_forwarders(module)
    return module


def _rebind_forwarders(module: types.ModuleType) -> None:
    """Replace the module's forwarders, wherever `from m import name` bound them, by the
    real objects (forwarders are only ever bound into module namespaces at import)."""
    forwarders = _forwarders.pop(module.__name__, {})
    if not forwarders:
        return
    real = {id(f): getattr(module, name, f) for name, f in forwarders.items()}
    for namespace in [vars(m) for m in list(sys.modules.values()) if m is not None]:
        for key, value in list(namespace.items()):
            if type(value) is DeferredAttribute and id(value) in real:
                namespace[key] = real[id(value)]


class _Finder:
    """The meta path finder (importlib.abc is not imported: it would import ~30 more modules).

    - Importing a module to defer gives its stand-in: the real spec, with a loader that
      makes the module object but does not run its code.
    - Importing `a.b` while `a` is deferred runs `a` first, as a normal import would have.
    """

    def find_spec(self, fullname, path, target=None):
        parent = sys.modules.get(fullname.rpartition(".")[0])
        if isinstance(parent, DeferredModule):
            materialize(parent)
            path = parent.__path__
            # Running the package may have imported `a.b` already. The import system
            # would run it a second time (it re-loads a module that a finder's side
            # effect imported), so take it out of sys.modules and hand it back unchanged.
            done = sys.modules.pop(fullname, None)
            if done is not None:
                return importlib.util.spec_from_loader(fullname, _AlreadyImported(done))
        if fullname not in _to_defer:
            return None  # the normal finders find it
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _StandIn(spec.loader)
        return spec


class _StandIn:
    """Loader of a deferred module: makes the module object, does not run its code."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = module.__loader__ = self.loader  # materialize() runs the real one
        module.__class__ = DeferredModule
        _to_defer.discard(module.__name__)


class _AlreadyImported:  # a loader
    """Loader of a module that is already imported: returns it unchanged (no second run)."""

    def __init__(self, module: types.ModuleType):
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        module.__spec__ = self.spec  # the import system set the hand-over spec: restore the module's own


_to_defer: set[str] = set()  # names to defer at their first import
_ran: list[str] = []  # deferred modules that ran
_finder = _Finder()
