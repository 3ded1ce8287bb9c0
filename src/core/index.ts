export { columnMoments } from "./columns.js";
export { type SymmetricEigen, symmetricEigen } from "./eigen.js";
export { centralGradient, centralHessian, centralHessianVector } from "./finite-differences.js";
export { createRng, drawWithoutReplacement, type Rng } from "./rng.js";
export { tridiagonalEigen } from "./tridiagonal.js";
export { allFinite, axpy, dot, norm2, sub } from "./vec.js";
