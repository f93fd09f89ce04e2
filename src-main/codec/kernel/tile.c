// A tile of the tiled layout decoded to samples, as docs/FORMAT.md's "Decoding to pixels" steps 1 and 2 prescribe and
// nmfz.ts's reconstructRow does: factors dequantised in double (code · (scale / levels)), W·H summed in double over
// the components in groups of four (each group's four products added left to right, then added to the sum), the
// rest one by one, times max, stored as float32. Two columns at a time, each lane doing exactly the scalar
// arithmetic, so the samples are the same to the bit. Freestanding: no libc, no data segment, no shadow stack.
// Rebuild with scripts/wasm-kernel.sh (see there).

#include <stdint.h>
#include <wasm_simd128.h>

// wcodes (k×rows) and hcodes (k×cols) with k scales; Wt (k×rows) and H (k×cols) doubles are its scratch; out gets the
// rows×cols samples, row-major.
__attribute__((export_name("reconstruct"))) void reconstruct(const uint16_t *wcodes, const uint16_t *hcodes, const float *scales,
                                                            int rows, int k, int cols, double levels, double max, double *Wt,
                                                            double *H, float *out) {
  for (int j = 0; j < k; j++) {
    const double step = (double)scales[j] / levels;
    for (int i = 0; i < rows; i++) Wt[j * rows + i] = (double)wcodes[j * rows + i] * step;
    for (int l = 0; l < cols; l++) H[j * cols + l] = (double)hcodes[j * cols + l] * step;
  }
  const v128_t vmax = wasm_f64x2_splat(max);
  const int k4 = k - k % 4;
  for (int y = 0; y < rows; y++) {
    float *row = out + y * cols;
    int l = 0;
    for (; l + 2 <= cols; l += 2) {
      v128_t acc = wasm_f64x2_splat(0.0);
      int j = 0;
      for (; j < k4; j += 4) {
        const double *h0 = H + j * cols + l;
        v128_t t = wasm_f64x2_mul(wasm_f64x2_splat(Wt[j * rows + y]), wasm_v128_load(h0));
        t = wasm_f64x2_add(t, wasm_f64x2_mul(wasm_f64x2_splat(Wt[(j + 1) * rows + y]), wasm_v128_load(h0 + cols)));
        t = wasm_f64x2_add(t, wasm_f64x2_mul(wasm_f64x2_splat(Wt[(j + 2) * rows + y]), wasm_v128_load(h0 + 2 * cols)));
        t = wasm_f64x2_add(t, wasm_f64x2_mul(wasm_f64x2_splat(Wt[(j + 3) * rows + y]), wasm_v128_load(h0 + 3 * cols)));
        acc = wasm_f64x2_add(acc, t);
      }
      for (; j < k; j++) acc = wasm_f64x2_add(acc, wasm_f64x2_mul(wasm_f64x2_splat(Wt[j * rows + y]), wasm_v128_load(H + j * cols + l)));
      const v128_t v = wasm_f64x2_mul(acc, vmax);
      row[l] = (float)wasm_f64x2_extract_lane(v, 0);
      row[l + 1] = (float)wasm_f64x2_extract_lane(v, 1);
    }
    for (; l < cols; l++) {
      double acc = 0.0;
      int j = 0;
      for (; j < k4; j += 4) {
        acc = acc + (Wt[j * rows + y] * H[j * cols + l] + Wt[(j + 1) * rows + y] * H[(j + 1) * cols + l] +
                     Wt[(j + 2) * rows + y] * H[(j + 2) * cols + l] + Wt[(j + 3) * rows + y] * H[(j + 3) * cols + l]);
      }
      for (; j < k; j++) acc = acc + Wt[j * rows + y] * H[j * cols + l];
      row[l] = (float)(acc * max);
    }
  }
}
