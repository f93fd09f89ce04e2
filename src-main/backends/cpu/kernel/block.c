// The heavy loops of block-fit.ts (a tile's randomized spectrum and its HALS fit) as WebAssembly SIMD, in float32.
//
// Every matrix is kept with the long axis contiguous — W as Wᵀ (k×rows), the range finder's bases as rows — so that
// every loop is a dot product or an axpy over a tile's rows or columns, four lanes at a time. Sums that are
// differences of near-equal terms (the error ‖V‖² − 2⟨H, WᵀV⟩ + ⟨WᵀW, HHᵀ⟩) are accumulated in double.
//
// Freestanding: no libc, no data segment, no shadow stack. Pointers are byte offsets into the caller's memory.
// Rebuild with scripts/wasm-kernel.sh (see there).

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

#ifdef RELAXED
/* Fused multiply-add (relaxed SIMD): about a fifth off a fit where the runtime has it. clang-14 spells relaxed_madd as
   the prototype f32x4.fma; scripts/wasm-kernel.sh rewrites it to the final opcode. */
#define MADD(x, y, acc) __builtin_wasm_fma_f32x4((x), (y), (acc))
#else
#define MADD(x, y, acc) wasm_f32x4_add(wasm_f32x4_mul((x), (y)), (acc))
#endif

// out[i·si + j·sj] = ⟨X_i, Y_j⟩ for X m×len and Y n×len, row-major. Two rows of X and four of Y at a time: eight
// sums from six loads per step (one row against four was five loads for four sums, and loads were the bound).
EXPORT("dots")
void dots(const float *X, int m, const float *Y, int n, int len, float *out, int si, int sj) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 2 <= m; i += 2) {
    const float *x0 = X + i * len, *x1 = x0 + len;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const float *y0 = Y + j * len, *y1 = y0 + len, *y2 = y1 + len, *y3 = y2 + len;
      v128_t a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
      int l = 0;
      for (; l + 4 <= len; l += 4) {
        const v128_t u = wasm_v128_load(x0 + l), w = wasm_v128_load(x1 + l);
        v128_t y = wasm_v128_load(y0 + l);
        a0 = MADD(u, y, a0);
        b0 = MADD(w, y, b0);
        y = wasm_v128_load(y1 + l);
        a1 = MADD(u, y, a1);
        b1 = MADD(w, y, b1);
        y = wasm_v128_load(y2 + l);
        a2 = MADD(u, y, a2);
        b2 = MADD(w, y, b2);
        y = wasm_v128_load(y3 + l);
        a3 = MADD(u, y, a3);
        b3 = MADD(w, y, b3);
      }
      float s[8] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3), hsum(b0), hsum(b1), hsum(b2), hsum(b3)};
      for (; l < len; l++) {
        s[0] += x0[l] * y0[l];
        s[1] += x0[l] * y1[l];
        s[2] += x0[l] * y2[l];
        s[3] += x0[l] * y3[l];
        s[4] += x1[l] * y0[l];
        s[5] += x1[l] * y1[l];
        s[6] += x1[l] * y2[l];
        s[7] += x1[l] * y3[l];
      }
      for (int t = 0; t < 4; t++) {
        out[i * si + (j + t) * sj] = s[t];
        out[(i + 1) * si + (j + t) * sj] = s[4 + t];
      }
    }
    for (; j < n; j++) {
      const float *y = Y + j * len;
      v128_t a = z, b = z;
      int l = 0;
      for (; l + 4 <= len; l += 4) {
        const v128_t yv = wasm_v128_load(y + l);
        a = MADD(wasm_v128_load(x0 + l), yv, a);
        b = MADD(wasm_v128_load(x1 + l), yv, b);
      }
      float sa = hsum(a), sb = hsum(b);
      for (; l < len; l++) {
        sa += x0[l] * y[l];
        sb += x1[l] * y[l];
      }
      out[i * si + j * sj] = sa;
      out[(i + 1) * si + j * sj] = sb;
    }
  }
  for (; i < m; i++) {
    const float *x = X + i * len;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const float *y0 = Y + j * len, *y1 = y0 + len, *y2 = y1 + len, *y3 = y2 + len;
      v128_t a0 = z, a1 = z, a2 = z, a3 = z;
      int l = 0;
      for (; l + 4 <= len; l += 4) {
        const v128_t xv = wasm_v128_load(x + l);
        a0 = MADD(xv, wasm_v128_load(y0 + l), a0);
        a1 = MADD(xv, wasm_v128_load(y1 + l), a1);
        a2 = MADD(xv, wasm_v128_load(y2 + l), a2);
        a3 = MADD(xv, wasm_v128_load(y3 + l), a3);
      }
      float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (; l < len; l++) {
        s0 += x[l] * y0[l];
        s1 += x[l] * y1[l];
        s2 += x[l] * y2[l];
        s3 += x[l] * y3[l];
      }
      out[i * si + j * sj] = s0;
      out[i * si + (j + 1) * sj] = s1;
      out[i * si + (j + 2) * sj] = s2;
      out[i * si + (j + 3) * sj] = s3;
    }
    for (; j < n; j++) {
      const float *y = Y + j * len;
      v128_t a = z;
      int l = 0;
      for (; l + 4 <= len; l += 4) a = MADD(wasm_v128_load(x + l), wasm_v128_load(y + l), a);
      float s = hsum(a);
      for (; l < len; l++) s += x[l] * y[l];
      out[i * si + j * sj] = s;
    }
  }
}

// out (k×cols) = Σ_i A(i, j)·V_i, with A(i, j) = A[i·rsa + j·csa] and V rows×cols row-major: Aᵀ·V. A strip of eight
// columns of four rows of out at a time, summed in registers over the rows of V: each load of V serves four rows of
// out, and out is stored once (a row of out at a time had two loads and a store per multiply-add).
EXPORT("combine")
void combine(const float *A, int rsa, int csa, int k, const float *V, int rows, int cols, float *out) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  const int k4 = k - k % 4;
  int l = 0;
  for (; l + 8 <= cols; l += 8) {
    int j = 0;
    for (; j < k4; j += 4) {
      v128_t a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
      const float *c = A + j * csa;
      for (int i = 0; i < rows; i++, c += rsa) {
        const v128_t v0 = wasm_v128_load(V + i * cols + l), v1 = wasm_v128_load(V + i * cols + l + 4);
        const v128_t c0 = wasm_f32x4_splat(c[0]), c1 = wasm_f32x4_splat(c[csa]), c2 = wasm_f32x4_splat(c[2 * csa]),
                     c3 = wasm_f32x4_splat(c[3 * csa]);
        a00 = MADD(c0, v0, a00);
        a01 = MADD(c0, v1, a01);
        a10 = MADD(c1, v0, a10);
        a11 = MADD(c1, v1, a11);
        a20 = MADD(c2, v0, a20);
        a21 = MADD(c2, v1, a21);
        a30 = MADD(c3, v0, a30);
        a31 = MADD(c3, v1, a31);
      }
      float *o = out + j * cols + l;
      wasm_v128_store(o, a00);
      wasm_v128_store(o + 4, a01);
      wasm_v128_store(o + cols, a10);
      wasm_v128_store(o + cols + 4, a11);
      wasm_v128_store(o + 2 * cols, a20);
      wasm_v128_store(o + 2 * cols + 4, a21);
      wasm_v128_store(o + 3 * cols, a30);
      wasm_v128_store(o + 3 * cols + 4, a31);
    }
    for (; j < k; j++) {
      v128_t a0 = z, a1 = z;
      const float *c = A + j * csa;
      for (int i = 0; i < rows; i++, c += rsa) {
        const v128_t b = wasm_f32x4_splat(*c);
        a0 = MADD(b, wasm_v128_load(V + i * cols + l), a0);
        a1 = MADD(b, wasm_v128_load(V + i * cols + l + 4), a1);
      }
      wasm_v128_store(out + j * cols + l, a0);
      wasm_v128_store(out + j * cols + l + 4, a1);
    }
  }
  // The last cols mod 8 columns one at a time.
  for (; l < cols; l++) {
    for (int j = 0; j < k; j++) {
      float s = 0.0f;
      for (int i = 0; i < rows; i++) s += A[i * rsa + j * csa] * V[i * cols + l];
      out[j * cols + l] = s;
    }
  }
}

// out (k×k) = X·Xᵀ for X k×len: the upper triangle by dots, mirrored (each entry the same sum dots gives).
static void gram(const float *X, int k, int len, float *out) {
  for (int i = 0; i < k; i++) dots(X + i * len, 1, X + i * len, k - i, len, out + i * k + i, 0, 1);
  for (int i = 0; i < k; i++)
    for (int j = 0; j < i; j++) out[i * k + j] = out[j * k + i];
}

// ⟨x, y⟩ in double: the products of float32 entries are exact in double, so only the sum rounds.
static double dot_d(const float *x, const float *y, int n) {
  v128_t lo = wasm_f64x2_splat(0.0), hi = lo;
  int l = 0;
  for (; l + 4 <= n; l += 4) {
    const v128_t xv = wasm_v128_load(x + l), yv = wasm_v128_load(y + l);
    lo = wasm_f64x2_add(lo, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(xv), wasm_f64x2_promote_low_f32x4(yv)));
    const v128_t xh = wasm_i32x4_shuffle(xv, xv, 2, 3, 0, 1), yh = wasm_i32x4_shuffle(yv, yv, 2, 3, 0, 1);
    hi = wasm_f64x2_add(hi, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(xh), wasm_f64x2_promote_low_f32x4(yh)));
  }
  const v128_t a = wasm_f64x2_add(lo, hi);
  double s = wasm_f64x2_extract_lane(a, 0) + wasm_f64x2_extract_lane(a, 1);
  for (; l < n; l++) s += (double)x[l] * (double)y[l];
  return s;
}

// ⟨x, y⟩ in float32, two sums of four lanes: the projections of Gram–Schmidt, whose second pass mends what the first
// left (in double they took two fifths of a spectrum).
static float dot_f(const float *x, const float *y, int n) {
  v128_t a = wasm_f32x4_splat(0.0f), b = a;
  int l = 0;
  for (; l + 8 <= n; l += 8) {
    a = MADD(wasm_v128_load(x + l), wasm_v128_load(y + l), a);
    b = MADD(wasm_v128_load(x + l + 4), wasm_v128_load(y + l + 4), b);
  }
  for (; l + 4 <= n; l += 4) a = MADD(wasm_v128_load(x + l), wasm_v128_load(y + l), a);
  float s = hsum(wasm_f32x4_add(a, b));
  for (; l < n; l++) s += x[l] * y[l];
  return s;
}

// y += a·x over n entries.
static void axpy(float a, const float *x, float *y, int n) {
  const v128_t b = wasm_f32x4_splat(a);
  int l = 0;
  for (; l + 4 <= n; l += 4) wasm_v128_store(y + l, MADD(b, wasm_v128_load(x + l), wasm_v128_load(y + l)));
  for (; l < n; l++) y[l] += a * x[l];
}

// The p rows of Y (p×n) made orthonormal in place: modified Gram–Schmidt, twice (once is not enough in float32).
// A row that is (numerically) in the span of the ones before it becomes zero.
// A row whose squared norm falls below this share of what it was before its projections is taken as dependent.
#define DEPENDENT_F32 1e-9

EXPORT("orthonormalize_rows")
void orthonormalize_rows(float *Y, int p, int n) {
  for (int pass = 0; pass < 2; pass++) {
    for (int j = 0; j < p; j++) {
      float *y = Y + j * n;
      const double before = dot_d(y, y, n);
      for (int i = 0; i < j; i++) axpy(-dot_f(Y + i * n, y, n), Y + i * n, y, n);
      const double s = dot_d(y, y, n);
      // A row in the span of those before it (a tile of lower rank than the rows asked for) leaves only rounding,
      // which normalised would be a unit row far from orthogonal to them (and the spectrum's σ² more than the tile's
      // energy): it is dropped, as block-fit.ts's orthonormalize drops it.
      const float inv = s > 1e-30 && s > DEPENDENT_F32 * before ? (float)(1.0 / __builtin_sqrt(s)) : 0.0f;
      const v128_t b = wasm_f32x4_splat(inv);
      int l = 0;
      for (; l + 4 <= n; l += 4) wasm_v128_store(y + l, wasm_f32x4_mul(b, wasm_v128_load(y + l)));
      for (; l < n; l++) y[l] *= inv;
    }
  }
}

// One HALS sweep over the rows of X (k×n): X_j ← max(0, X_j + (T_j − Σ_s B_js·X_s) / B_jj), row by row, each row
// seeing the rows updated before it. The same update for W (kept as Wᵀ) and for H. Every entry's update reads only its
// own column of X, so the sweep runs a column strip at a time, all k rows of it, the sums held in registers: rows go
// four at a time, their sums over the rows outside their four taken first (each X_s loaded once for four rows), then
// the four in order, each seeing the ones before it updated. (Row by row, each term was an axpy into a row in memory:
// two loads and a store per multiply-add.) `inv` gets the k values 1/B_jj.
// Four rows j0 … j0+3 of a strip of eight columns from l: acc<q><h> sums rows outside the four, then in order.
#define ROW4_TERM(s, x0, x1)                                                                                          \
  {                                                                                                                   \
    const v128_t c0 = wasm_f32x4_splat(B[j0 * k + (s)]), c1 = wasm_f32x4_splat(B[(j0 + 1) * k + (s)]);    \
    const v128_t c2 = wasm_f32x4_splat(B[(j0 + 2) * k + (s)]), c3 = wasm_f32x4_splat(B[(j0 + 3) * k + (s)]); \
    a00 = MADD(c0, x0, a00);                                                                                          \
    a01 = MADD(c0, x1, a01);                                                                                          \
    a10 = MADD(c1, x0, a10);                                                                                          \
    a11 = MADD(c1, x1, a11);                                                                                          \
    a20 = MADD(c2, x0, a20);                                                                                          \
    a21 = MADD(c2, x1, a21);                                                                                          \
    a30 = MADD(c3, x0, a30);                                                                                          \
    a31 = MADD(c3, x1, a31);                                                                                          \
  }
// Row j = j0 + q of the strip, its sums a0 (lanes l…l+3) and a1 (l+4…l+7) over the rows outside its four taken:
// the four rows' terms in order (the ones before j updated already), then the update.
#define ROW4_UPDATE(q, a0, a1)                                                                                        \
  {                                                                                                                   \
    const int j = j0 + (q);                                                                                           \
    if (B[j * k + j] > 0.0f) {                                                                                        \
      for (int s = j0; s < j0 + 4; s++) {                                                                             \
        const v128_t c = wasm_f32x4_splat(B[j * k + s]);                                                        \
        a0 = MADD(c, wasm_v128_load(X + s * n + l), a0);                                                              \
        a1 = MADD(c, wasm_v128_load(X + s * n + l + 4), a1);                                                          \
      }                                                                                                               \
      const v128_t d = wasm_f32x4_splat(inv[j]);                                                                      \
      float *x = X + j * n + l;                                                                                       \
      wasm_v128_store(x, wasm_f32x4_pmax(MADD(wasm_f32x4_sub(wasm_v128_load(T + j * n + l), a0), d, wasm_v128_load(x)), z)); \
      wasm_v128_store(x + 4, wasm_f32x4_pmax(MADD(wasm_f32x4_sub(wasm_v128_load(T + j * n + l + 4), a1), d, wasm_v128_load(x + 4)), z)); \
    }                                                                                                                 \
  }

// One HALS sweep over the rows of X (k×n): X_j ← max(0, X_j + (T_j − Σ_s B_js·X_s) / B_jj), row by row, each row
// seeing the rows updated before it. The same update for W (kept as Wᵀ) and for H. An entry's update reads only its
// own column of X, so the sweep runs a strip of eight columns at a time, all k rows of it, its sums held in registers:
// rows four at a time, their terms from the rows outside the four first (each load of X_s serving four rows), then
// the four in order, each seeing the ones before it updated. (Row by row, each term was an axpy into a row in memory:
// two loads and a store per multiply-add.) `inv` gets the k values 1/B_jj.
static void sweep(float *X, int k, int n, const float *T, const float *B, float *inv) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (int j = 0; j < k; j++) inv[j] = B[j * k + j] > 0.0f ? 1.0f / B[j * k + j] : 0.0f;
  const int k4 = k - k % 4;
  int l = 0;
  for (; l + 8 <= n; l += 8) {
    for (int j0 = 0; j0 < k4; j0 += 4) {
      v128_t a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
      for (int s = 0; s < k; s++) {
        if (s == j0) {
          s += 3;
          continue;
        }
        const v128_t x0 = wasm_v128_load(X + s * n + l), x1 = wasm_v128_load(X + s * n + l + 4);
        ROW4_TERM(s, x0, x1)
      }
      ROW4_UPDATE(0, a00, a01)
      ROW4_UPDATE(1, a10, a11)
      ROW4_UPDATE(2, a20, a21)
      ROW4_UPDATE(3, a30, a31)
    }
    // The last k mod 4 rows one by one, every other row's term in the sum.
    for (int j = k4; j < k; j++) {
      if (!(B[j * k + j] > 0.0f)) continue;
      v128_t a0 = z, a1 = z;
      for (int s = 0; s < k; s++) {
        const v128_t c = wasm_f32x4_splat(B[j * k + s]);
        a0 = MADD(c, wasm_v128_load(X + s * n + l), a0);
        a1 = MADD(c, wasm_v128_load(X + s * n + l + 4), a1);
      }
      const v128_t d = wasm_f32x4_splat(inv[j]);
      float *x = X + j * n + l;
      wasm_v128_store(x, wasm_f32x4_pmax(MADD(wasm_f32x4_sub(wasm_v128_load(T + j * n + l), a0), d, wasm_v128_load(x)), z));
      wasm_v128_store(x + 4, wasm_f32x4_pmax(MADD(wasm_f32x4_sub(wasm_v128_load(T + j * n + l + 4), a1), d, wasm_v128_load(x + 4)), z));
    }
  }
  // The last n mod 8 columns one at a time, in the same order.
  for (; l < n; l++) {
    for (int j = 0; j < k; j++) {
      if (!(B[j * k + j] > 0.0f)) continue;
      float sum = 0.0f;
      for (int s = 0; s < k; s++) sum += B[j * k + s] * X[s * n + l];
      const float v = X[j * n + l] + (T[j * n + l] - sum) * inv[j];
      X[j * n + l] = v > 0.0f ? v : 0.0f;
    }
  }
}

// NMF of V (rows×cols) at rank k by accelerated HALS from the start in Wt (k×rows, Wᵀ) and H (k×cols), both updated in
// place; the error ‖V − W·H‖²_F is tracked from the products at no extra cost, and the fit stops once an iteration
// gains less than gap_share of what is left above `bound` (the spectrum's best for rank k). scratch holds
// k·(rows + cols) + 2k² + max(rows, cols) floats. Returns the iterations run; *error_out gets the final error.
EXPORT("hals")
int hals(const float *V, int rows, int cols, int k, float *Wt, float *H, int max_iter, double gap_share, int sweeps,
         double energy, double bound, float *scratch, double *error_out) {
  float *At = scratch;           // k×rows: (V·Hᵀ)ᵀ
  float *C = At + k * rows;      // k×cols: Wᵀ·V
  float *B = C + k * cols;       // k×k
  float *HH = B + k * k;         // k×k
  float *row = HH + k * k;       // max(rows, cols)
  double error = __builtin_inf();
  int iterations = 0;
  for (int it = 0; it < max_iter; it++) {
    dots(H, k, V, rows, cols, At, rows, 1);
    // H·Hᵀ: the last iteration's, made for its error from the same H
    if (it == 0) gram(H, k, cols, B);
    else
      for (int c = 0; c < k * k; c++) B[c] = HH[c];
    for (int s = 0; s < sweeps; s++) sweep(Wt, k, rows, At, B, row);
    combine(Wt, 1, rows, k, V, rows, cols, C);
    gram(Wt, k, rows, B);
    for (int s = 0; s < sweeps; s++) sweep(H, k, cols, C, B, row);
    iterations = it + 1;
    double cross = 0;
    for (int j = 0; j < k; j++) cross += dot_d(H + j * cols, C + j * cols, cols);
    gram(H, k, cols, HH);
    double quad = 0;
    for (int c = 0; c < k * k; c++) quad += (double)B[c] * (double)HH[c];
    double e = energy - 2 * cross + quad;
    if (e < 0) e = 0;
    const double gain = error - e;
    error = e;
    const double left = e - bound > 0 ? e - bound : 0;
    if (gain <= gap_share * left || e <= bound * (1 + 1e-6)) break;
  }
  *error_out = error;
  return iterations;
}

// The tiled layout's factor codes range-coded (codec/range-coder.ts's encodeTileCodes, the same arithmetic to the
// byte, there in JavaScript at about a tenth of the speed): `shapes` holds each tile's rows, cols and rank; `codes`
// its W columns then its H rows, tile after tile; `fast` and `slow` the models (2·17 contexts << bits entries, set to
// half by the caller). Returns the bytes written to `out`, or -1 when `cap` would not hold them.
#define RC_PROB_BITS 12
#define RC_PROB_ONE (1u << RC_PROB_BITS)
#define RC_FAST 4
#define RC_SLOW 7
#define RC_CAP 15
#define RC_START (RC_CAP + 1)
#define RC_TOP (1u << 24)

typedef struct {
  unsigned long long low;
  unsigned int range;
  unsigned int cache;
  unsigned int cache_size;
  unsigned char *out;
  int pos;
  int cap;
} RangeSink;

static int rc_shift(RangeSink *s) {
  if ((unsigned int)s->low < 0xff000000u || (s->low >> 32) != 0) {
    const unsigned int carry = (unsigned int)(s->low >> 32);
    if (s->pos + (int)s->cache_size > s->cap) return -1;
    unsigned int temp = s->cache;
    do {
      s->out[s->pos++] = (unsigned char)(temp + carry);
      temp = 0xff;
    } while (--s->cache_size != 0);
    s->cache = (unsigned int)(s->low >> 24) & 0xff;
  }
  s->cache_size++;
  s->low = (s->low & 0x00ffffffu) << 8;
  return 0;
}

EXPORT("range_encode")
int range_encode(const int *shapes, int tiles, const unsigned short *codes, int bits, unsigned short *fast, unsigned short *slow,
                 unsigned char *out, int cap) {
  RangeSink s = {0, 0xffffffffu, 0, 1, out, 0, cap};
  const int mask = (1 << bits) - 1;
  const int half = 1 << (bits - 1);
  const unsigned short *c = codes;
  for (int t = 0; t < tiles; t++) {
    const int rows = shapes[3 * t], cols = shapes[3 * t + 1], rank = shapes[3 * t + 2];
    for (int kind = 0; kind < 2; kind++) {
      const int length = kind == 0 ? rows : cols;
      for (int seq = 0; seq < rank; seq++) {
        int prev = 0;
        int context = kind * (RC_START + 1) + RC_START;
        for (int i = 0; i < length; i++) {
          const int q = *c++;
          int d = (q - prev) & mask;
          prev = q;
          if (d >= half) d -= mask + 1;
          const int z = d >= 0 ? 2 * d : -2 * d - 1;
          const int base = context << bits;
          int node = 1;
          for (int b = bits - 1; b >= 0; b--) {
            const int bit = (z >> b) & 1;
            const int at = base + node;
            const unsigned int f = fast[at], g = slow[at];
            const unsigned int bound = (s.range >> RC_PROB_BITS) * ((f + g) >> 1);
            if (bit == 0) {
              s.range = bound;
              fast[at] = (unsigned short)(f + ((RC_PROB_ONE - f) >> RC_FAST));
              slow[at] = (unsigned short)(g + ((RC_PROB_ONE - g) >> RC_SLOW));
            } else {
              s.low += bound;
              s.range -= bound;
              fast[at] = (unsigned short)(f - (f >> RC_FAST));
              slow[at] = (unsigned short)(g - (g >> RC_SLOW));
            }
            node = (node << 1) | bit;
            while (s.range < RC_TOP) {
              s.range <<= 8;
              if (rc_shift(&s)) return -1;
            }
          }
          context = kind * (RC_START + 1) + (z < RC_CAP ? z : RC_CAP);
        }
      }
    }
  }
  for (int i = 0; i < 5; i++)
    if (rc_shift(&s)) return -1;
  return s.pos;
}

// Σ (a − b)² over n entries, the differences in float32 and their squares summed in double: a decoded tile's error.
EXPORT("sq_diff")
double sq_diff(const float *a, const float *b, int n) {
  v128_t lo = wasm_f64x2_splat(0.0), hi = lo;
  int l = 0;
  for (; l + 4 <= n; l += 4) {
    const v128_t d = wasm_f32x4_sub(wasm_v128_load(a + l), wasm_v128_load(b + l));
    const v128_t dl = wasm_f64x2_promote_low_f32x4(d);
    const v128_t dh = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(d, d, 2, 3, 0, 1));
    lo = wasm_f64x2_add(lo, wasm_f64x2_mul(dl, dl));
    hi = wasm_f64x2_add(hi, wasm_f64x2_mul(dh, dh));
  }
  const v128_t s = wasm_f64x2_add(lo, hi);
  double e = wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
  for (; l < n; l++) {
    const double d = (double)a[l] - (double)b[l];
    e += d * d;
  }
  return e;
}

// √(a² + b²) as JavaScript's Math.hypot makes it for two values (each scaled by the larger, their squares summed):
// the same number, so that these eigenvalues are linalg.ts's to the bit.
static double hypot2(double a, double b) {
  a = __builtin_fabs(a);
  b = __builtin_fabs(b);
  const double m = a > b ? a : b;
  if (m == 0.0) return 0.0;
  const double x = a / m, y = b / m;
  return __builtin_sqrt(x * x + y * y) * m;
}

// linalg.ts's tred2 (Householder reduction to tridiagonal form), step for step; with `accumulate` V becomes the
// accumulated transformation, without it only (d, e) are made (the diagonal the accumulation would read is the same,
// so the values are the same numbers).
static void tred2(double *V, double *d, double *e, int n, int accumulate) {
  for (int j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (int i = n - 1; i > 0; i--) {
    double scale = 0.0, h = 0.0;
    for (int k = 0; k < i; k++) scale += __builtin_fabs(d[k]);
    if (scale == 0.0) {
      e[i] = d[i - 1];
      for (int j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0.0;
        V[j * n + i] = 0.0;
      }
    } else {
      for (int k = 0; k < i; k++) {
        d[k] = d[k] / scale;
        h += d[k] * d[k];
      }
      double f = d[i - 1];
      double g = __builtin_sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (int j = 0; j < i; j++) e[j] = 0.0;
      for (int j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (int k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] = e[k] + V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0.0;
      for (int j = 0; j < i; j++) {
        e[j] = e[j] / h;
        f += e[j] * d[j];
      }
      const double hh = f / (h + h);
      for (int j = 0; j < i; j++) e[j] = e[j] - hh * d[j];
      for (int j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (int k = j; k <= i - 1; k++) V[k * n + j] = V[k * n + j] - (f * e[k] + g * d[k]);
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0.0;
      }
    }
    d[i] = h;
  }
  if (!accumulate) {
    for (int j = 0; j < n; j++) d[j] = V[j * n + j];
    e[0] = 0.0;
    return;
  }
  for (int i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1.0;
    const double h = d[i + 1];
    if (h != 0.0) {
      for (int k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (int j = 0; j <= i; j++) {
        double g = 0.0;
        for (int k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (int k = 0; k <= i; k++) V[k * n + j] = V[k * n + j] - g * d[k];
      }
    }
    for (int k = 0; k <= i; k++) V[k * n + i + 1] = 0.0;
  }
  for (int j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0.0;
  }
  V[(n - 1) * n + n - 1] = 1.0;
  e[0] = 0.0;
}

// linalg.ts's tql2 (implicit QL on the tridiagonal (d, e)), accumulating into Z (eigenvectors as its rows) unless it
// is null (the values are the same either way); 0, or −1 where an eigenvalue took over 100 iterations.
static int tql2(double *Z, double *d, double *e, int n) {
  for (int i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0.0;
  double f = 0.0, tst1 = 0.0;
  const double eps = 2.220446049250313e-16; // 2^-52
  for (int l = 0; l < n; l++) {
    const double t = __builtin_fabs(d[l]) + __builtin_fabs(e[l]);
    if (t > tst1) tst1 = t;
    int m = l;
    while (m < n - 1 && __builtin_fabs(e[m]) > eps * tst1) m++;
    if (m > l) {
      int iter = 0;
      do {
        if (++iter > 100) return -1;
        double g = d[l];
        double p = (d[l + 1] - g) / (2.0 * e[l]);
        double r = hypot2(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const double dl1 = d[l + 1];
        double h = g - d[l];
        for (int i = l + 2; i < n; i++) d[i] = d[i] - h;
        f += h;
        p = d[m];
        double c = 1.0, c2 = c, c3 = c, s = 0.0, s2 = 0.0;
        const double el1 = e[l + 1];
        for (int i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot2(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (!Z) continue;
          double *zi = Z + i * n, *zi1 = zi + n;
          for (int k = 0; k < n; k++) {
            h = zi1[k];
            zi1[k] = s * zi[k] + c * h;
            zi[k] = c * zi[k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (__builtin_fabs(e[l]) > eps * tst1);
    }
    d[l] = d[l] + f;
    e[l] = 0.0;
  }
  return 0;
}

// The eigenvalues σ² of a spectrum's Gram matrix G (p×p, float32, as dots made it): G symmetrised in double into A
// (each pair's mean), reduced and iterated as linalg.ts's symmetricEigen does (with Z, the vectors as Z's rows;
// without, the same values), the values left in d unsorted. 0, or −1 where it did not converge. (In JavaScript this was
// two fifths of a small tile's spectrum.)
EXPORT("gram_eigen")
int gram_eigen(const float *G, int p, double *A, double *d, double *e, double *Z) {
  if (p == 0) return 0;
  for (int a = 0; a < p; a++) {
    A[a * p + a] = (double)G[a * p + a];
    for (int c = 0; c < a; c++) A[a * p + c] = A[c * p + a] = 0.5 * ((double)G[a * p + c] + (double)G[c * p + a]);
  }
  tred2(A, d, e, p, Z != 0);
  if (Z)
    for (int r = 0; r < p; r++)
      for (int c = 0; c < p; c++) Z[c * p + r] = A[r * p + c];
  return tql2(Z, d, e, p);
}
