"""scikit-learn's side of `npm run bench -- --sparse`: NMF with its default settings on MatrixMarket files.

Reads a JSON job on stdin: {"cases": [{"name", "mtx", "rank", "max_iter"?}]}. For each case the file is read with
scipy.io.mmread and made CSR (not timed), then NMF(n_components=rank) with every other setting at its default
(solver='cd', init='nndsvda', tol=1e-4, max_iter=200 unless the job caps it) is timed on it, as float32 like our CPU backend and as
scikit-learn keeps float32 input. Prints one JSON object: per case ms, n_iter, the relative error
||V - WH||_F / ||V||_F reached (computed without forming W·H), and the process's peak resident memory.
"""
import json
import resource
import sys
import time
import warnings

import numpy as np
import scipy
import scipy.io
import sklearn
from sklearn.decomposition import NMF


def rel_err(V, W, H):
    # ||V - WH||^2 = ||V||^2 - 2 <V, WH> + <W'W, HH'>, in float64
    V = V.astype(np.float64)
    W = W.astype(np.float64)
    H = H.astype(np.float64)
    norm = V.multiply(V).sum()
    cross = (V @ H.T).ravel() @ W.ravel()
    quad = np.sum((W.T @ W) * (H @ H.T))
    return float(np.sqrt(max(norm - 2 * cross + quad, 0) / norm))


job = json.load(sys.stdin)
out = {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__, "cases": {}}
warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter is expected
for case in job["cases"]:
    V = scipy.io.mmread(case["mtx"]).tocsr().astype(np.float32)
    model = NMF(n_components=case["rank"], max_iter=case.get("max_iter", 200))
    t0 = time.perf_counter()
    W = model.fit_transform(V)
    ms = (time.perf_counter() - t0) * 1000
    out["cases"][case["name"]] = {
        "ms": ms,
        "iterations": int(model.n_iter_),
        "relErr": rel_err(V, W, model.components_),
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
json.dump(out, sys.stdout)
