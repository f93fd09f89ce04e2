"""scikit-learn's side of `npm run bench`: times NMF on the .npy files named in a JSON job on stdin.

For each case: 200 multiplicative-update iterations (solver='mu', tol=0) and the default settings
(solver='cd', init='nndsvda', max_iter=200, tol=1e-4), best of `repeats` runs, with the relative error
||V - WH||_F / ||V||_F that the default settings reach. Prints one JSON object.
"""
import json
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.decomposition import NMF


def best_of(repeats, make):
    best, model = None, None
    for _ in range(repeats):
        m = make()
        t0 = time.perf_counter()
        W = m.fit_transform(V)
        dt = time.perf_counter() - t0
        if best is None or dt < best:
            best, model, W_best = dt, m, W
    return best, model, W_best


job = json.load(sys.stdin)
out = {"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": {}}
warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter is expected
for case in job["cases"]:
    V = np.load(case["npy"]).astype(np.float32)
    k, repeats = case["rank"], case["repeats"]
    norm = np.linalg.norm(V)
    mu_s, mu, W = best_of(repeats, lambda: NMF(n_components=k, init="nndsvda", solver="mu", max_iter=200, tol=0))
    mu_err = float(np.linalg.norm(V - W @ mu.components_) / norm)
    cd_s, cd, W = best_of(repeats, lambda: NMF(n_components=k, init="nndsvda", solver="cd", max_iter=200, tol=1e-4))
    cd_err = float(np.linalg.norm(V - W @ cd.components_) / norm)
    out["cases"][case["name"]] = {
        "mu200Ms": mu_s * 1000,
        "muIterations": int(mu.n_iter_),
        "muRelErr": mu_err,
        "defaultMs": cd_s * 1000,
        "defaultIterations": int(cd.n_iter_),
        "defaultRelErr": cd_err,
    }
json.dump(out, sys.stdout)
