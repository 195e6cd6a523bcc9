/**
 * Lower-precision number formats, as pure functions on arrays: IEEE half precision, symmetric
 * int8 per output channel (TensorFlow Lite's scheme) and affine uint8 (tfjs-converter's).
 */

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * The IEEE 754 half-precision bits nearest to `value` (rounded to float32 first): round to
 * nearest, ties to even; below 2^-14 the result is subnormal, below 2^-25 it is ±0, from 65520
 * on it is ±Infinity; NaN stays NaN.
 */
export function float32ToFloat16Bits(value: number): number {
  F32[0] = value;
  const bits = U32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf, or a quiet NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // too large: overflows to infinity
  if (halfExponent <= 0) {
    // A subnormal half, m x 2^-24: shift the 24-bit significand (implicit 1 included) right.
    if (halfExponent < -10) return sign; // below half the smallest subnormal: ±0
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShifted(significand, shift); // a carry makes the smallest normal, rightly
  }
  // A normal half: keep 10 of the 23 mantissa bits; a carry may move up to the next exponent,
  // or to infinity above 65504, both correct.
  return sign | roundShifted((halfExponent << 23) | mantissa, 13);
}

/** The value of half-precision `bits` (a number from 0 to 0xffff). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Each value rounded to the nearest half-precision number, back as float32. */
export function roundToFloat16(values: Float32Array): Float32Array {
  return values.map((value) => float16BitsToFloat32(float32ToFloat16Bits(value)));
}

// `value >> shift`, rounded to nearest with ties to even.
function roundShifted(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

// ---------------------------------------------------------------------------------------------
// 8-bit quantization

/**
 * Symmetric int8 quantization as mobile runtimes do it (TensorFlow Lite's int8 scheme): each
 * output channel c gets its own scale `s[c] = max|w[c]| / 127` and stores `round(w / s[c])` in
 * [-127, 127]; zero stays exactly zero. The output channel is the last axis of a tf.js kernel
 * ([kh, kw, C_in, C_out] or [in, out]). With `perChannel: false` one scale serves the tensor.
 */
export function quantizeInt8(
  values: Float32Array,
  shape: number[],
  options: { perChannel?: boolean } = {},
): { quantized: Int8Array; scales: Float32Array; dequantized: Float32Array } {
  const channels = options.perChannel === false || shape.length === 0 ? 1 : shape.at(-1)!;
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(values[i]));
  }
  const scales = Float32Array.from(maxAbs, (m) => m / 127);
  const quantized = new Int8Array(values.length);
  const dequantized = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const scale = scales[i % channels];
    const q = scale === 0 ? 0 : Math.max(-127, Math.min(127, roundHalfEven(values[i] / scale)));
    quantized[i] = q;
    dequantized[i] = q * scale;
  }
  return { quantized, scales, dequantized };
}

/**
 * Affine uint8 quantization as tfjs-converter writes it (`quantization.py`): 256 levels from
 * `min` to `min + 255 * scale`, the range nudged so that 0 is one of them; tf.js dequantizes on
 * load as `q * scale + min`. One scale and min per tensor.
 */
export function quantizeUint8(
  values: Float32Array,
): { quantized: Uint8Array; scale: number; min: number; dequantized: Float32Array } {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  const quantized = new Uint8Array(values.length);
  if (values.length === 0 || low === high) {
    // One value: every q is 0 and min is that value (tfjs-converter does the same).
    const min = values.length === 0 ? 0 : low;
    return { quantized, scale: 1, min, dequantized: new Float32Array(values.length).fill(min) };
  }
  const scale = (high - low) / 255;
  let min = low;
  let max = high;
  if (low <= 0 && 0 <= high) {
    min = -roundHalfEven(-low / scale) * scale;
    max = 255 * scale + min;
  }
  const dequantized = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const clipped = Math.min(max, Math.max(min, values[i]));
    quantized[i] = roundHalfEven((clipped - min) / scale);
    dequantized[i] = quantized[i] * scale + min; // what tf.js computes on load
  }
  return { quantized, scale, min, dequantized };
}

// numpy's np.round, which tfjs-converter uses: halves go to the even neighbour.
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
