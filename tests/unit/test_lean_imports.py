"""chipotle_model.lean_imports: deferred modules do not run until used, then behave exactly
as if imported normally; the real query path never runs the ones the handler defers.

Each case runs in a fresh interpreter: what is deferred depends on what was imported before.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from chipotle_model.lean_imports import NOT_ON_THE_QUERY_PATH
from tests.support import REPO_ROOT

TOY_MODULES = {
    # every toy module records that its code ran
    "tally.py": "runs = []\n",
    "toypkg/__init__.py": (
        "import tally\ntally.runs.append(__name__)\n"
        "from .sub import VALUE\n"
        "__all__ = ['double', 'Base']\n"
        "def double(x):\n    return 2 * x\n"
        "class Base:\n    kind = 'base'\n"
        "class Counter:\n    calls = 0\n    def __call__(self):\n        Counter.calls += 1\n"
        "counter = Counter()\n"
    ),
    "toypkg/sub.py": "import tally\ntally.runs.append(__name__)\nVALUE = 42\n",
    "toypkg/other.py": "import tally\ntally.runs.append(__name__)\nOTHER = 7\n",
    "toymod.py": (
        "import tally\ntally.runs.append(__name__)\n__all__ = ['triple']\ndef triple(x):\n    return 3 * x\n"
    ),
    "toybad.py": "raise RuntimeError('toybad cannot be imported')\n",
}


def run_python(code: str, path=None) -> dict:
    """Run `code` in a fresh interpreter (the repository on its path); it prints one JSON object."""
    prelude = "import json, sys, tally\n" if path else "import json, sys\n"
    env_path = [str(REPO_ROOT)] + ([str(path)] if path else [])
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": ":".join(env_path), "PATH": "/usr/bin:/bin", "POWERTOOLS_LOG_LEVEL": "WARNING"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def toys(tmp_path):
    for name, source in TOY_MODULES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(source)
    return tmp_path


def test_a_deferred_module_runs_at_its_first_use_and_then_is_the_real_module(toys):
    out = run_python(
        """
        from chipotle_model import lean_imports
        lean_imports.defer("toypkg", "toymod")
        import toypkg, toymod
        from toypkg import double, Base
        from toymod import triple
        held = toypkg
        before = {"runs": list(tally.runs), "pending": sorted(lean_imports.pending()),
                  "double": repr(double), "has_path": hasattr(toymod, "__path__")}
        answer = double(21)  # the first use runs toypkg, not toymod
        after = {"runs": list(tally.runs), "pending": lean_imports.pending(), "ran": lean_imports.ran()}
        print(json.dumps({"before": before, "answer": answer, "after": after,
            "same_object": held is sys.modules["toypkg"], "normal_module": type(toypkg).__name__,
            "rebound": type(double).__name__, "triple": triple(2), "runs": tally.runs}))
        """,
        toys,
    )
    assert out["before"] == {
        "runs": [],
        "pending": ["toymod", "toypkg"],
        "double": "<deferred toypkg.double>",
        "has_path": False,  # a plain module is not mistaken for a package
    }
    assert out["answer"] == 42
    assert out["after"] == {"runs": ["toypkg", "toypkg.sub"], "pending": ["toymod"], "ran": ["toypkg"]}
    assert out["same_object"] and out["normal_module"] == "module"
    assert out["rebound"] == "function"  # `from toypkg import double` now holds the real function
    assert out["triple"] == 6 and out["runs"] == ["toypkg", "toypkg.sub", "toymod"]


def test_importing_a_submodule_runs_the_deferred_package_first_and_each_module_once(toys):
    out = run_python(
        """
        from chipotle_model import lean_imports
        lean_imports.defer("toypkg")
        import toypkg.sub  # which toypkg's own code also imports
        import toypkg.other  # which it does not
        print(json.dumps({"runs": tally.runs, "sub": toypkg.sub.VALUE, "other": toypkg.other.OTHER,
            "same_sub": toypkg.sub is sys.modules["toypkg.sub"],
            "spec": toypkg.sub.__spec__.name, "loader": type(toypkg.sub.__loader__).__name__}))
        """,
        toys,
    )
    assert out["runs"] == ["toypkg", "toypkg.sub", "toypkg.other"]
    assert out["sub"] == 42 and out["other"] == 7 and out["same_sub"]
    assert out["spec"] == "toypkg.sub" and out["loader"] == "SourceFileLoader"


def test_deferred_classes_and_objects_forward_every_use(toys):
    out = run_python(
        """
        from chipotle_model import lean_imports
        lean_imports.defer("toypkg")
        from toypkg import Base, counter
        checks = {"isinstance_before_run": isinstance(object(), Base)}
        class Child(Base):  # a base class is needed at once: this runs toypkg
            pass
        counter(); counter()
        print(json.dumps({**checks, "kind": Child.kind, "issubclass": issubclass(Child, Base),
            "isinstance": isinstance(Child(), Base), "calls": type(counter).calls, "runs": tally.runs}))
        """,
        toys,
    )
    assert out == {
        "isinstance_before_run": False,
        "kind": "base",
        "issubclass": True,
        "isinstance": True,
        "calls": 2,
        "runs": ["toypkg", "toypkg.sub"],
    }


def test_star_imports_dunders_and_failures_run_the_module(toys):
    out = run_python(
        """
        from chipotle_model import lean_imports
        lean_imports.defer("toymod", "toybad")
        import toymod, toybad
        namespace = {}
        exec("from toymod import *", namespace)
        try:
            toybad.anything()
            failure = None
        except RuntimeError as exc:
            failure = str(exc)
        print(json.dumps({"star": sorted(k for k in namespace if not k.startswith("__")),
            "runs": tally.runs, "failure": failure, "toybad_left": "toybad" in sys.modules}))
        """,
        toys,
    )
    assert out == {
        "star": ["triple"],
        "runs": ["toymod"],
        "failure": "toybad cannot be imported",  # at first use, as the import would have failed
        "toybad_left": False,  # and it is gone, as after a failed import
    }


def test_a_module_imported_before_defer_is_left_alone(toys):
    out = run_python(
        """
        import toymod
        from chipotle_model import lean_imports
        lean_imports.defer("toymod")
        import toymod
        print(json.dumps({"pending": lean_imports.pending(), "runs": tally.runs}))
        """,
        toys,
    )
    assert out == {"pending": [], "runs": ["toymod"]}


def test_the_whole_query_path_never_runs_a_deferred_module_and_answers_every_case(real_artifact):
    """The handler's list, deferred as the handler defers it: loading the model, the warm-up
    and every API case (checked against brute force) run none of them, and each of them is
    really imported as a stand-in (an entry scikit-learn no longer imports would be dead)."""
    out = run_python(
        f"""
        from chipotle_model import lean_imports
        lean_imports.defer(*lean_imports.NOT_ON_THE_QUERY_PATH)
        from chipotle_model import load_model
        from chipotle_model.api import LocalContext, create_api
        from tests.support.cases import all_events, check_answer
        api = create_api(load_model({str(real_artifact)!r}))
        for name, event in all_events().items():
            check_answer(api.model, name, event, api.handler(event, LocalContext()))
        print(json.dumps({{"pending": lean_imports.pending(), "ran": lean_imports.ran(),
                           "cases": len(all_events())}}))
        """
    )
    assert out["ran"] == []
    assert sorted(out["pending"]) == sorted(NOT_ON_THE_QUERY_PATH)
    assert out["cases"] >= 40


def test_deferred_scipy_stats_answers_like_scipy_stats_when_scikit_learn_needs_it():
    """What scikit-learn binds from scipy.stats at import (rankdata, gmean, chi2: a
    distribution object) gives the real answers, and once used nothing deferred is left."""
    out = run_python(
        """
        from chipotle_model import lean_imports
        lean_imports.defer("scipy.stats")
        import sklearn.neighbors
        from sklearn.metrics import _ranking
        from sklearn._loss import link
        from sklearn.covariance import _robust_covariance
        import scipy
        deferred = lean_imports.pending()
        values = {"rankdata": _ranking.rankdata([3.0, 1.0, 2.0, 2.0]).tolist(),
                  "gmean": float(link.gmean([1.0, 4.0])),
                  "chi2": float(_robust_covariance.chi2.ppf(0.5, 2))}
        leftovers = [f"{m.__name__}.{k}" for m in list(sys.modules.values()) if m is not None
                     for k, v in list(vars(m).items()) if type(v) is lean_imports.DeferredAttribute]
        print(json.dumps({"deferred": deferred, "values": values, "leftovers": leftovers,
            "same": _ranking.rankdata is scipy.stats.rankdata and link.gmean is scipy.stats.gmean,
            "module": type(sys.modules["scipy.stats"]).__name__, "ran": lean_imports.ran()}))
        """
    )
    from scipy import stats

    assert out["deferred"] == ["scipy.stats"]
    assert out["values"]["rankdata"] == stats.rankdata([3.0, 1.0, 2.0, 2.0]).tolist()
    assert np.isclose(out["values"]["gmean"], stats.gmean([1.0, 4.0]))
    assert np.isclose(out["values"]["chi2"], stats.chi2.ppf(0.5, 2))
    assert out["leftovers"] == [] and out["same"] and out["module"] == "module"
    assert out["ran"] == ["scipy.stats"]


def test_load_model_still_refuses_an_artifact_from_other_versions(tmp_path):
    from chipotle_model import NearestStoreModel, StoreTable

    stores = StoreTable(state=["A"], city=["x"], address=["1 a st"], latitude=[1.0], longitude=[2.0])
    model = NearestStoreModel.fit(stores)
    model.metadata["versions"] = {**model.metadata["versions"], "scikit-learn": "0.0.1"}
    path = model.save(tmp_path / "old.joblib")
    out = run_python(
        f"""
        from chipotle_model import lean_imports
        lean_imports.defer(*lean_imports.NOT_ON_THE_QUERY_PATH)
        from chipotle_model import ModelVersionMismatch, load_model
        try:
            load_model({str(path)!r})
            refused = None
        except ModelVersionMismatch as exc:
            refused = str(exc)
        print(json.dumps({{"refused": refused}}))
        """
    )
    assert out["refused"] and "scikit-learn 0.0.1 (running " in out["refused"]
