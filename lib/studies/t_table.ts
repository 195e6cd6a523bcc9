/**
 * Two-sided 95% critical values of Student's t distribution, for intervals from a few runs
 * (3 seeds: 2 degrees of freedom, t = 4.30, not the 1.96 of a normal distribution).
 */

// t(0.975, df) for df = 1..30, from any statistics table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
const T_95 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.160,
  2.145,
  2.131,
  2.120,
  2.110,
  2.101,
  2.093,
  2.086,
  2.080,
  2.074,
  2.069,
  2.064,
  2.060,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];
// Beyond 30 the table thins out; a larger df takes the value of the next smaller entry.
const T_95_LARGE: [number, number][] = [[40, 2.021], [60, 2.000], [120, 1.980]];
const NORMAL_95 = 1.96;

/** t such that 95% of Student's t with `degreesOfFreedom` lies within ±t. */
export function tCritical95(degreesOfFreedom: number): number {
  if (!Number.isInteger(degreesOfFreedom) || degreesOfFreedom < 1) {
    throw new Error(
      `degreesOfFreedom must be a whole number of at least 1 (runs - 1), got ${degreesOfFreedom}`,
    );
  }
  if (degreesOfFreedom <= T_95.length) return T_95[degreesOfFreedom - 1];
  let value = T_95[T_95.length - 1];
  for (const [df, t] of T_95_LARGE) if (degreesOfFreedom >= df) value = t;
  return degreesOfFreedom > 1000 ? NORMAL_95 : value;
}
