import type { SchedulerConfig } from '../schedulers/index.js';

/**
 * Moving between what the UNet predicts (ε or v) and the clean-image estimate
 * x̂₀, for a model input x = √ᾱ·x₀ + √(1−ᾱ)·ε. Both maps are affine, so
 * blending in x̂₀ (regions, dialog calming) is exact and reversible.
 */
export type PredictionType = SchedulerConfig['predictionType'];

export function predictionToX0(type: PredictionType, output: Float32Array, input: Float32Array, alphaProd: number): Float32Array {
  const a = Math.sqrt(alphaProd);
  const s = Math.sqrt(1 - alphaProd);
  const x0 = new Float32Array(output.length);
  for (let i = 0; i < output.length; i++) x0[i] = type === 'v_prediction' ? a * input[i]! - s * output[i]! : (input[i]! - s * output[i]!) / a;
  return x0;
}

export function x0ToPrediction(type: PredictionType, x0: Float32Array, input: Float32Array, alphaProd: number): Float32Array {
  const a = Math.sqrt(alphaProd);
  const s = Math.sqrt(1 - alphaProd);
  const out = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) out[i] = type === 'v_prediction' ? (a * input[i]! - x0[i]!) / s : (input[i]! - a * x0[i]!) / s;
  return out;
}
