// WebAssembly SIMD kernels of the CPU backend: a register-blocked, cache-tiled f32 GEMM, the fused tile work of
// the β-divergence, the coordinate sweeps and the products with a sparse V, run by every thread of the pool on
// one shared memory.
//
// Built by build.sh (clang-14, wasm32, simd128) into wasm-bytes.ts. No libc, no globals, no data segments:
// every thread instantiates this module on the same shared memory, so all state lives in job records that
// the TypeScript side lays out (../gemm.ts and ../index.ts). Pointers are byte offsets into that memory.
#include <wasm_simd128.h>

#ifndef MR
#define MR 4 /* rows of C per micro-tile: 8 accumulators + 2 B vectors + 1 broadcast + 1 product; V8 keeps one of
              x64's 16 XMM registers for itself, and a 6×8 tile spills (half the speed) */
#endif
#define NR 8 /* columns of C per micro-tile: two f32x4 */

#ifdef RELAXED
/* clang-14 spells relaxed_madd as the prototype f32x4.fma; build.sh rewrites it to the final opcode, whose
   operand order is x·y + acc — hence the argument order here. */
#define MADD(x, y, acc) __builtin_wasm_fma_f32x4((x), (y), (acc))
#else
#define MADD(x, y, acc) wasm_f32x4_add(wasm_f32x4_mul((x), (y)), (acc))
#endif

#if MR == 4
#define ROWS(X) X(0) X(1) X(2) X(3)
#elif MR == 5
#define ROWS(X) X(0) X(1) X(2) X(3) X(4)
#else
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#endif
#define DECL(r) v128_t c##r##0 = z, c##r##1 = z;
#define LOADC(r) c##r##0 = wasm_v128_load(c + r * ldc); c##r##1 = wasm_v128_load(c + r * ldc + 4);
#define STEP(r) { v128_t av = wasm_v128_load32_splat(a + r * rsa); c##r##0 = MADD(av, b0, c##r##0); c##r##1 = MADD(av, b1, c##r##1); }
#define STORE(r) wasm_v128_store(c + r * ldc, c##r##0); wasm_v128_store(c + r * ldc + 4, c##r##1);

/* C[MR×NR] (+)= Σ_p a(i,p)·b(p,j) with a(i,p) = a[i·rsa + p·csa] and b(p,j) = b[p·ldb + j]. */
static inline __attribute__((always_inline)) void micro(int k, const float *a, int rsa, int csa, const float *b, int ldb,
                                                        float *c, int ldc, int acc) {
  v128_t z = wasm_f32x4_splat(0.0f);
  ROWS(DECL)
  if (acc) { ROWS(LOADC) }
  for (int p = 0; p < k; p++) {
    v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    ROWS(STEP)
    a += csa;
    b += ldb;
  }
  ROWS(STORE)
}

/* Both layouts of A the backend uses get their own copy, so that the unit stride becomes a constant offset. */
static void micro_any(int k, const float *a, int rsa, int csa, const float *b, int ldb, float *c, int ldc, int acc) {
  if (rsa == 1) micro(k, a, 1, csa, b, ldb, c, ldc, acc);
  else if (csa == 1) micro(k, a, rsa, 1, b, ldb, c, ldc, acc);
  else micro(k, a, rsa, csa, b, ldb, c, ldc, acc);
}

/*
 * A GEMM job: C (m×n, both padded to MR/NR) (+)= A·B. B is stored as panels of NR columns: column block jb
 * starts at b + jb·bsp with row stride ldb (bsp = NR and ldb = the row length for a plain row-major B).
 * Work is cut into chunks along m (split = 1) or n (split = 0) that the threads take with an atomic counter.
 */
typedef struct {
  int next, nchunks, chunk, split;
  int m, n, k, kc;
  const float *a;
  int rsa, csa;
  const float *b;
  int ldb, bsp;
  float *c;
  int ldc, acc;
  float *bpack; /* when not 0: per-thread blocks of KC×NR floats at bpack + tid·KCMAX·NR, see gemm_range */
} gemm_job;

#define KCMAX 512

/* Rows [i0, i1) × columns [j0, j1) of C; scalar arguments only, so that nothing lives on the shadow stack
   (threads share one memory but each instance has the same stack pointer). */
static void gemm_range(int split, int k, int kc, const float *a0, int rsa, int csa, const float *b0, int ldb, int bsp,
                       float *c, int ldc, int acc0, int i0, int i1, int j0, int j1, float *pack) {
  for (int p0 = 0; p0 < k; p0 += kc) {
    const int kk = k - p0 < kc ? k - p0 : kc;
    const int acc = acc0 || p0 > 0;
    const float *a = a0 + p0 * csa;
    const float *b = b0 + p0 * ldb;
    if (split == 0) {
      /* B (the streamed operand) outer: its KC×NR panel stays in L1 while every block of A passes over it. */
      for (int jj = j0; jj < j1; jj += NR) {
        const float *bp = b + (jj / NR) * bsp;
        int ldbp = ldb;
        if (pack) {
          /* A B panel with a long row stride (V itself) would hit the same few cache sets and a new page on
             every row: copy it to a contiguous block once, then every block of A reads it from L1. */
          for (int p = 0; p < kk; p++) {
            wasm_v128_store(pack + p * NR, wasm_v128_load(bp + p * ldb));
            wasm_v128_store(pack + p * NR + 4, wasm_v128_load(bp + p * ldb + 4));
          }
          bp = pack;
          ldbp = NR;
        }
        for (int ii = i0; ii < i1; ii += MR)
          micro_any(kk, a + ii * rsa, rsa, csa, bp, ldbp, c + ii * ldc + jj, ldc, acc);
      }
    } else {
      for (int ii = i0; ii < i1; ii += MR)
        for (int jj = j0; jj < j1; jj += NR)
          micro_any(kk, a + ii * rsa, rsa, csa, b + (jj / NR) * bsp, ldb, c + ii * ldc + jj, ldc, acc);
    }
  }
}

__attribute__((export_name("gemm_run"))) void gemm_run(gemm_job *j, int tid) {
  float *pack = j->bpack ? j->bpack + tid * KCMAX * NR : 0;
  for (;;) {
    const int t = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (t >= j->nchunks) return;
    if (j->split == 0) {
      const int j0 = t * j->chunk, j1 = j0 + j->chunk < j->n ? j0 + j->chunk : j->n;
      gemm_range(0, j->k, j->kc, j->a, j->rsa, j->csa, j->b, j->ldb, j->bsp, j->c, j->ldc, j->acc, 0, j->m, j0, j1, pack);
    } else {
      const int i0 = t * j->chunk, i1 = i0 + j->chunk < j->m ? i0 + j->chunk : j->m;
      gemm_range(1, j->k, j->kc, j->a, j->rsa, j->csa, j->b, j->ldb, j->bsp, j->c, j->ldc, j->acc, i0, i1, 0, j->n, 0);
    }
  }
}

/*
 * ‖V − W·H‖² by row blocks: each chunk forms its block of W·H in the calling thread's scratch tile with the
 * GEMM above and sums the squared differences in f64, into its own slot of partial (summed in a fixed order
 * by the caller, so the result does not depend on which thread took which chunk).
 */
typedef struct {
  int next, nchunks, chunk; /* chunk: rows per block, a multiple of MR */
  int rows, cols, colsPad, rankPad;
  const float *v;  /* rows × cols, row stride cols */
  const float *w;  /* rows(+pad) × rankPad */
  const float *h;  /* rankPad × colsPad */
  float *scratch;  /* per thread: chunk × colsPad floats, at scratch + tid·scratchStride */
  int scratchStride;
  double *partial; /* nchunks */
} sqdiff_job;

__attribute__((export_name("sqdiff_run"))) void sqdiff_run(sqdiff_job *j, int tid) {
  float *t = j->scratch + tid * j->scratchStride;
  const int cols = j->cols, colsPad = j->colsPad;
  for (;;) {
    const int c = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (c >= j->nchunks) return;
    const int i0 = c * j->chunk, i1 = i0 + j->chunk < j->rows ? i0 + j->chunk : j->rows;
    const int mPad = (i1 - i0 + MR - 1) / MR * MR;
    gemm_range(1, j->rankPad, 256, j->w + i0 * j->rankPad, j->rankPad, 1, j->h, colsPad, NR, t, colsPad, 0, 0, mPad, 0, colsPad, 0);
    double sum = 0;
    for (int i = i0; i < i1; i++) {
      const float *vr = j->v + i * cols, *tr = t + (i - i0) * colsPad;
      v128_t s0 = wasm_f64x2_splat(0), s1 = wasm_f64x2_splat(0);
      int q = 0;
      for (; q + 4 <= cols; q += 4) {
        v128_t vv = wasm_v128_load(vr + q);
        v128_t d = wasm_f32x4_sub(vv, wasm_v128_load(tr + q));
        d = wasm_f32x4_mul(d, d);
        s0 = wasm_f64x2_add(s0, wasm_f64x2_promote_low_f32x4(d));
        s1 = wasm_f64x2_add(s1, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(d, d, 2, 3, 0, 1)));
      }
      double rs = wasm_f64x2_extract_lane(s0, 0) + wasm_f64x2_extract_lane(s0, 1) + wasm_f64x2_extract_lane(s1, 0) +
                  wasm_f64x2_extract_lane(s1, 1);
      for (; q < cols; q++) { const float d = vr[q] - tr[q]; rs += (double)d * d; }
      sum += rs;
    }
    j->partial[c] = sum;
  }
}

/*
 * One coordinate-descent (HALS) sweep over a factor, the arithmetic of the engine's solvers/sweep.ts: for each
 * component t in order, g = Σ_r B[t,r]·F[r,·] − A[t,·], violation += |g| (or |min(0, g)| where F is 0), and
 * F[t,·] ← max(F[t,·] − g/B[t,t], 0). Each column of the k×n view depends only on itself, so columns are
 * swept in blocks of SW, all components at a time, and blocks are shared out to the threads.
 *
 * side 0 (H): F and A are k×n with row stride ldf. side 1 (W): F and A are n×k row-major (row stride ldf);
 * each chunk of rows is transposed into the thread's scratch, swept, and transposed back.
 */
#define SW 16

typedef struct {
  int next, nchunks, chunk; /* chunk: columns of the k×n view, a multiple of SW */
  int side, k, n, ldf;
  float *f;
  const float *a;
  const float *b; /* k×k, row stride k */
  float *scratch; /* side 1: per thread 2·k·chunk floats at scratch + tid·scratchStride */
  int scratchStride;
  double *partial; /* per chunk: violation, change */
  int *alive;      /* per chunk: k flags, whether component t has a non-zero entry in the chunk after the sweep */
} sweep_job;

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

/* Columns [0, width) of F (k×·, stride fs) and A (stride as); width a multiple of SW. */
static void sweep_cols(int k, float *f, int fs, const float *a, int as, const float *b, int width, double *violation,
                       double *change, int *alive) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  double viol = 0, chg = 0;
  for (int j = 0; j < width; j += SW) {
    for (int t = 0; t < k; t++) {
      const float *at = a + t * as + j;
      v128_t g0 = wasm_f32x4_neg(wasm_v128_load(at)), g1 = wasm_f32x4_neg(wasm_v128_load(at + 4));
      v128_t g2 = wasm_f32x4_neg(wasm_v128_load(at + 8)), g3 = wasm_f32x4_neg(wasm_v128_load(at + 12));
      const float *bt = b + t * k;
      const float *fr = f + j;
      for (int r = 0; r < k; r++, fr += fs) {
        const v128_t bv = wasm_v128_load32_splat(bt + r);
        g0 = MADD(bv, wasm_v128_load(fr), g0);
        g1 = MADD(bv, wasm_v128_load(fr + 4), g1);
        g2 = MADD(bv, wasm_v128_load(fr + 8), g2);
        g3 = MADD(bv, wasm_v128_load(fr + 12), g3);
      }
      float *ft = f + t * fs + j;
      const float hess = bt[t];
      v128_t vs = zero, cs = zero, nz = zero;
#define UPDATE(q, g)                                                                                                  \
  {                                                                                                                   \
    const v128_t old = wasm_v128_load(ft + 4 * q);                                                                   \
    const v128_t isZero = wasm_f32x4_eq(old, zero);                                                                  \
    vs = wasm_f32x4_add(vs, wasm_f32x4_abs(wasm_v128_bitselect(wasm_f32x4_min(zero, g), g, isZero)));                \
    v128_t now = old;                                                                                                 \
    if (hess != 0) {                                                                                                  \
      now = wasm_f32x4_max(wasm_f32x4_sub(old, wasm_f32x4_div(g, wasm_f32x4_splat(hess))), zero);                    \
      const v128_t d = wasm_f32x4_sub(now, old);                                                                      \
      cs = wasm_f32x4_add(cs, wasm_f32x4_mul(d, d));                                                                  \
      wasm_v128_store(ft + 4 * q, now);                                                                              \
    }                                                                                                                 \
    nz = wasm_v128_or(nz, wasm_f32x4_ne(now, zero));                                                                 \
  }
      UPDATE(0, g0) UPDATE(1, g1) UPDATE(2, g2) UPDATE(3, g3)
#undef UPDATE
      viol += hsum(vs);
      chg += hsum(cs);
      if (wasm_v128_any_true(nz)) alive[t] = 1;
    }
  }
  *violation += viol;
  *change += chg;
}

__attribute__((export_name("sweep_run"))) void sweep_run(sweep_job *j, int tid) {
  const int k = j->k, n = j->n, ldf = j->ldf, chunk = j->chunk;
  for (;;) {
    const int c = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (c >= j->nchunks) return;
    const int c0 = c * chunk, c1 = c0 + chunk < n ? c0 + chunk : n;
    double *partial = j->partial + 2 * c;
    int *alive = j->alive + k * c;
    partial[0] = 0;
    partial[1] = 0;
    for (int t = 0; t < k; t++) alive[t] = 0;
    if (j->side == 0) {
      sweep_cols(k, j->f + c0, ldf, j->a + c0, ldf, j->b, (c1 - c0 + SW - 1) / SW * SW, partial, partial + 1, alive);
    } else {
      const int width = (c1 - c0 + SW - 1) / SW * SW;
      float *ft = j->scratch + tid * j->scratchStride, *at = ft + k * chunk;
      for (int t = 0; t < k; t++)
        for (int i = 0; i < width; i++) {
          const int row = c0 + i;
          ft[t * chunk + i] = row < c1 ? j->f[row * ldf + t] : 0.0f;
          at[t * chunk + i] = row < c1 ? j->a[row * ldf + t] : 0.0f;
        }
      sweep_cols(k, ft, chunk, at, chunk, j->b, width, partial, partial + 1, alive);
      for (int i = 0; i < c1 - c0; i++)
        for (int t = 0; t < k; t++) j->f[(c0 + i) * ldf + t] = ft[t * chunk + i];
    }
  }
}

/*
 * Products with a sparse (CSR) matrix S whose values are float64, summed in float64 as engine/sparse.ts does;
 * SIMD over the rank dimension (two f64 lanes), along which the dense operands are laid out (row-major, k
 * columns). The record is the one ../sparse-kernels.ts writes; threads take chunks of rows from `next`.
 *   mode 0: out (rows×k) = S·B for B (S.cols×k). Each sum runs over the row's entries in order, from 0, as the
 *           TypeScript loop's does: the same float64 result to the bit.
 *   mode 1: out[p] = Σ_t A[i,t]·B[j,t] at each stored entry p = (i, j): W·H at the non-zeros only. The k terms
 *           are summed in two lanes and then added, so the result may differ from a sum in order in the last bit.
 *   mode 2: out (S.cols×k) = Sᵀ·A for A (rows×k), scattered row by row: A read once, in order. One chunk (one
 *           thread), since the rows of out it writes are shared by every row of S.
 */
typedef struct {
  int next, nchunks, chunkRows, rows, k, mode;
  const unsigned *indptr;
  const unsigned *indices;
  const double *values;
  int nnz;
  const double *a;
  int aLength;
  const double *b;
  int bLength;
  double *out;
  int outLength;
} sparse_job;

#define F64_MADD(x, y, acc) wasm_f64x2_add((acc), wasm_f64x2_mul((x), (y)))

static void sparse_times_dense(const unsigned *indptr, const unsigned *indices, const double *values, const double *b,
                               int k, double *out, int i0, int i1) {
  const v128_t z = wasm_f64x2_splat(0);
  for (int i = i0; i < i1; i++) {
    const unsigned start = indptr[i], end = indptr[i + 1];
    double *o = out + i * k;
    int t = 0;
    /* eight columns of the row of out in registers per pass over the row's entries */
    for (; t + 8 <= k; t += 8) {
      v128_t s0 = z, s1 = z, s2 = z, s3 = z;
      for (unsigned p = start; p < end; p++) {
        const v128_t x = wasm_f64x2_splat(values[p]);
        const double *bp = b + indices[p] * k + t;
        s0 = F64_MADD(x, wasm_v128_load(bp), s0);
        s1 = F64_MADD(x, wasm_v128_load(bp + 2), s1);
        s2 = F64_MADD(x, wasm_v128_load(bp + 4), s2);
        s3 = F64_MADD(x, wasm_v128_load(bp + 6), s3);
      }
      wasm_v128_store(o + t, s0);
      wasm_v128_store(o + t + 2, s1);
      wasm_v128_store(o + t + 4, s2);
      wasm_v128_store(o + t + 6, s3);
    }
    if (t == k) continue;
    /* the last 1…7 columns in one more pass: up to three pairs and a single one */
    const int pairs = (k - t) / 2, odd = (k - t) & 1;
    v128_t s0 = z, s1 = z, s2 = z;
    double s = 0;
    for (unsigned p = start; p < end; p++) {
      const double xv = values[p];
      const v128_t x = wasm_f64x2_splat(xv);
      const double *bp = b + indices[p] * k + t;
      if (pairs > 0) s0 = F64_MADD(x, wasm_v128_load(bp), s0);
      if (pairs > 1) s1 = F64_MADD(x, wasm_v128_load(bp + 2), s1);
      if (pairs > 2) s2 = F64_MADD(x, wasm_v128_load(bp + 4), s2);
      if (odd) s = s + xv * bp[2 * pairs];
    }
    if (pairs > 0) wasm_v128_store(o + t, s0);
    if (pairs > 1) wasm_v128_store(o + t + 2, s1);
    if (pairs > 2) wasm_v128_store(o + t + 4, s2);
    if (odd) o[t + 2 * pairs] = s;
  }
}

static void sparse_at_entries(const unsigned *indptr, const unsigned *indices, const double *a, const double *b, int k,
                              double *out, int i0, int i1) {
  const v128_t z = wasm_f64x2_splat(0);
  for (int i = i0; i < i1; i++) {
    const double *ar = a + i * k;
    const unsigned end = indptr[i + 1];
    for (unsigned p = indptr[i]; p < end; p++) {
      const double *br = b + indices[p] * k;
      v128_t s0 = z, s1 = z;
      int t = 0;
      for (; t + 4 <= k; t += 4) {
        s0 = F64_MADD(wasm_v128_load(ar + t), wasm_v128_load(br + t), s0);
        s1 = F64_MADD(wasm_v128_load(ar + t + 2), wasm_v128_load(br + t + 2), s1);
      }
      if (t + 2 <= k) {
        s0 = F64_MADD(wasm_v128_load(ar + t), wasm_v128_load(br + t), s0);
        t += 2;
      }
      s0 = wasm_f64x2_add(s0, s1);
      double s = wasm_f64x2_extract_lane(s0, 0) + wasm_f64x2_extract_lane(s0, 1);
      if (t < k) s += ar[t] * br[t];
      out[p] = s;
    }
  }
}

static void sparse_transpose_times_dense(const unsigned *indptr, const unsigned *indices, const double *values,
                                         const double *a, int k, int rows, double *out, int outLength) {
  for (int q = 0; q < outLength; q++) out[q] = 0;
  for (int i = 0; i < rows; i++) {
    const double *ar = a + i * k;
    const unsigned end = indptr[i + 1];
    for (unsigned p = indptr[i]; p < end; p++) {
      const double xv = values[p];
      const v128_t x = wasm_f64x2_splat(xv);
      double *o = out + indices[p] * k;
      int t = 0;
      for (; t + 2 <= k; t += 2) wasm_v128_store(o + t, F64_MADD(x, wasm_v128_load(ar + t), wasm_v128_load(o + t)));
      if (t < k) o[t] = o[t] + xv * ar[t];
    }
  }
}

__attribute__((export_name("sparse_run"))) void sparse_run(sparse_job *j, int tid) {
  (void)tid;
  for (;;) {
    const int c = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (c >= j->nchunks) return;
    const int i0 = c * j->chunkRows, i1 = i0 + j->chunkRows < j->rows ? i0 + j->chunkRows : j->rows;
    if (j->mode == 0) sparse_times_dense(j->indptr, j->indices, j->values, j->b, j->k, j->out, i0, i1);
    else if (j->mode == 1) sparse_at_entries(j->indptr, j->indices, j->a, j->b, j->k, j->out, i0, i1);
    else sparse_transpose_times_dense(j->indptr, j->indices, j->values, j->a, j->k, j->rows, j->out, j->outLength);
  }
}
