// The engine's public surface: the only module other layers import.

export { factorize, initialize, transform } from './factorize.js';
export { createReferenceBackend } from './backends/reference.js';
export { betaDivergence, betaOf, relErr } from './divergence.js';
export { multiply as reconstruct } from './dense.js';
export { denseOf, nnzOf, sparseFromCoordinates, sparseOf } from './sparse.js';

export * from './matrix.js';
export * from './errors.js';
export * from './options.js';
export type * from './backends/backend.js';
