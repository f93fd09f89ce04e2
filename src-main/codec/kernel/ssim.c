// SSIM map sums for one channel: the WebAssembly twin of ssimChannelSum in metrics.ts, the same arithmetic (row filter
// into a ring of 11 rows, column filter, the map, summed) in double precision, with 128-bit SIMD where clang
// vectorises the loops. The caller passes the images' interleaved rows and names the channel. Freestanding: no libc, no data segment, no
// shadow stack. Rebuild with scripts/wasm-kernel.sh (see there).

#include <stdint.h>
#include <wasm_simd128.h>

#define RADIUS 5
#define WIN 11

static void row_filter(const double *a, double *out, int iw, const double *g) {
  const double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4], g5 = g[5];
  for (int c = 0; c < iw; c++) {
    const double *p = a + c + RADIUS;
    out[c] = g0 * p[0] + g1 * (p[-1] + p[1]) + g2 * (p[-2] + p[2]) + g3 * (p[-3] + p[3]) + g4 * (p[-4] + p[4]) +
             g5 * (p[-5] + p[5]);
  }
}

// Loads row `row` of the channel (every `stride`th sample from `offset`) and row-filters x, y, x² + y² and xy into
// the ring.
static void fill(const uint8_t *x8, const uint8_t *y8, const uint16_t *x16, const uint16_t *y16, int w, int stride,
                 int row, double *ring, int iw, double *sx, double *sy, double *ssq, double *sxy, const double *g) {
  const int src = row * w * stride;
  if (x16) {
    for (int c = 0; c < w; c++) {
      const double a = x16[src + c * stride], b = y16[src + c * stride];
      sx[c] = a;
      sy[c] = b;
      ssq[c] = a * a + b * b;
      sxy[c] = a * b;
    }
  } else {
    for (int c = 0; c < w; c++) {
      const double a = x8[src + c * stride], b = y8[src + c * stride];
      sx[c] = a;
      sy[c] = b;
      ssq[c] = a * a + b * b;
      sxy[c] = a * b;
    }
  }
  double *base = ring + (row % WIN) * 4 * iw;
  row_filter(sx, base, iw, g);
  row_filter(sy, base + iw, iw, g);
  row_filter(ssq, base + 2 * iw, iw, g);
  row_filter(sxy, base + 3 * iw, iw, g);
}

// x and y: h rows of w pixels of `stride` samples each (the images' own interleaved rows); the channel is the one at
// `offset` in each pixel. params (doubles): g[0..5], C1, C2. scratch: 11·4·iw + 4·w doubles. Returns the map's sum
// over output rows [r0, r1).
__attribute__((export_name("ssim_sum"))) double ssim_sum(const void *x, const void *y, int is16, int w, int h, int stride,
                                                         int offset, int r0, int r1, const double *params, double *scratch) {
  if (r0 < RADIUS) r0 = RADIUS;
  if (r1 > h - RADIUS) r1 = h - RADIUS;
  if (r1 <= r0 || w < WIN) return 0;
  const int iw = w - 2 * RADIUS;
  const double *g = params;
  const double C1 = params[6], C2 = params[7];
  const double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4], g5 = g[5];
  double *ring = scratch;
  double *sx = ring + WIN * 4 * iw, *sy = sx + w, *ssq = sy + w, *sxy = ssq + w;
  const uint8_t *x8 = is16 ? 0 : (const uint8_t *)x + offset, *y8 = is16 ? 0 : (const uint8_t *)y + offset;
  const uint16_t *x16 = is16 ? (const uint16_t *)x + offset : 0, *y16 = is16 ? (const uint16_t *)y + offset : 0;
  for (int r = r0 - RADIUS; r < r0 + RADIUS; r++) fill(x8, y8, x16, y16, w, stride, r, ring, iw, sx, sy, ssq, sxy, g);
  double sum = 0;
  for (int r = r0; r < r1; r++) {
    fill(x8, y8, x16, y16, w, stride, r + RADIUS, ring, iw, sx, sy, ssq, sxy, g);
    const double *o[WIN];
    for (int k = 0; k < WIN; k++) o[k] = ring + ((r - RADIUS + k) % WIN) * 4 * iw;
    // Two columns at a time (the sums of even and of odd columns apart, added at the row's end): clang keeps a
    // reduction in order, so the plain loop below ran one column at a time.
    v128_t acc = wasm_f64x2_splat(0.0);
    const v128_t vg0 = wasm_f64x2_splat(g0), vg1 = wasm_f64x2_splat(g1), vg2 = wasm_f64x2_splat(g2);
    const v128_t vg3 = wasm_f64x2_splat(g3), vg4 = wasm_f64x2_splat(g4), vg5 = wasm_f64x2_splat(g5);
    const v128_t vC1 = wasm_f64x2_splat(C1), vC2 = wasm_f64x2_splat(C2), two = wasm_f64x2_splat(2.0);
    int c = 0;
    for (; c + 2 <= iw; c += 2) {
      v128_t u[4];
      for (int q = 0; q < 4; q++) {
        const int i = q * iw + c;
#define L(k) wasm_v128_load(o[k] + i)
        u[q] = wasm_f64x2_add(
            wasm_f64x2_add(
                wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_mul(vg0, L(5)), wasm_f64x2_mul(vg1, wasm_f64x2_add(L(4), L(6)))),
                                              wasm_f64x2_mul(vg2, wasm_f64x2_add(L(3), L(7)))),
                               wasm_f64x2_mul(vg3, wasm_f64x2_add(L(2), L(8)))),
                wasm_f64x2_mul(vg4, wasm_f64x2_add(L(1), L(9)))),
            wasm_f64x2_mul(vg5, wasm_f64x2_add(L(0), L(10))));
#undef L
      }
      const v128_t uxuy = wasm_f64x2_mul(u[0], u[1]);
      const v128_t uu = wasm_f64x2_add(wasm_f64x2_mul(u[0], u[0]), wasm_f64x2_mul(u[1], u[1]));
      const v128_t num = wasm_f64x2_mul(wasm_f64x2_add(wasm_f64x2_mul(two, uxuy), vC1),
                                        wasm_f64x2_add(wasm_f64x2_mul(two, wasm_f64x2_sub(u[3], uxuy)), vC2));
      const v128_t den = wasm_f64x2_mul(wasm_f64x2_add(uu, vC1), wasm_f64x2_add(wasm_f64x2_sub(u[2], uu), vC2));
      acc = wasm_f64x2_add(acc, wasm_f64x2_div(num, den));
    }
    double rowsum = wasm_f64x2_extract_lane(acc, 0) + wasm_f64x2_extract_lane(acc, 1);
    for (; c < iw; c++) {
      double u[4];
      for (int q = 0; q < 4; q++) {
        const int i = q * iw + c;
        u[q] = g0 * o[5][i] + g1 * (o[4][i] + o[6][i]) + g2 * (o[3][i] + o[7][i]) + g3 * (o[2][i] + o[8][i]) +
               g4 * (o[1][i] + o[9][i]) + g5 * (o[0][i] + o[10][i]);
      }
      const double ux = u[0], uy = u[1], usq = u[2], uxy = u[3];
      const double uxuy = ux * uy;
      const double uu = ux * ux + uy * uy;
      rowsum += ((2 * uxuy + C1) * (2 * (uxy - uxuy) + C2)) / ((uu + C1) * (usq - uu + C2));
    }
    sum += rowsum;
  }
  return sum;
}
