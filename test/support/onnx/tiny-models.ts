import { GraphBuilder } from './graph-builder.js';

/**
 * A stand-in SD 1.5 UNet with the real input/output names and known math:
 * out_sample = 2·sample + timestep + mean(encoder_hidden_states).
 * The timestep may be float32 or int64 (exports differ).
 */
export function tinyUnet(timestepType: 'float32' | 'int64', hidden = 8): Uint8Array {
  const g = new GraphBuilder();
  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  const timestep = g.input('timestep', timestepType, [1]);
  const ehs = g.input('encoder_hidden_states', 'float32', ['batch', 77, hidden]);
  const t = timestepType === 'int64' ? g.node('Cast', [timestep], [{ name: 'to', type: 2, i: 1 }]) : timestep;
  const doubled = g.node('Mul', [sample, g.constant([2], [1])]);
  const withT = g.node('Add', [doubled, t]);
  // Mean over tokens and channels, reshaped to broadcast over [batch, 4, h, w].
  const mean = g.node('ReduceMean', [ehs], [{ name: 'axes', type: 7, ints: [1, 2] }, { name: 'keepdims', type: 2, i: 1 }]);
  const asImage = g.node('Unsqueeze', [mean, g.constant([3], [1], 'int64')]);
  g.node('Add', [withT, asImage], [], 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  return g.toBytes();
}

/** Text encoder stand-in: input_ids [B, 77] → last_hidden_state [B, 77, 1] = ids as floats. */
export function tinyTextEncoder(): Uint8Array {
  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int64', ['batch', 77]);
  const asFloat = g.node('Cast', [ids], [{ name: 'to', type: 2, i: 1 }]);
  g.node('Unsqueeze', [asFloat, g.constant([2], [1], 'int64')], [], 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch', 77, 1]);
  return g.toBytes();
}

/** VAE decoder stand-in: sample = 2 · latent_sample. */
export function tinyVaeDecoder(): Uint8Array {
  const g = new GraphBuilder();
  const latent = g.input('latent_sample', 'float32', ['batch', 4, 'h', 'w']);
  g.node('Mul', [latent, g.constant([2], [1])], [], 'sample');
  g.output('sample', 'float32', ['batch', 4, 'h', 'w']);
  return g.toBytes();
}

/** A UNet with extra conditioning inputs (SDXL, LCM, DiffSensei names) folded into the output. */
export function tinyUnetWithExtras(extras: { name: string; shape: (number | string)[] }[]): Uint8Array {
  const g = new GraphBuilder();
  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  g.input('timestep', 'float32', [1]);
  g.input('encoder_hidden_states', 'float32', ['batch', 77, 8]);
  let out = g.node('Identity', [sample]);
  for (const extra of extras) {
    g.input(extra.name, 'float32', extra.shape);
    // Fold each extra in as 0·sum(extra) so onnxruntime keeps it as a real input.
    const sum = g.node('ReduceSum', [extra.name], [{ name: 'keepdims', type: 2, i: 0 }]);
    out = g.node('Add', [out, g.node('Mul', [sum, g.constant([0], [1])])]);
  }
  g.node('Identity', [out], [], 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  return g.toBytes();
}

/**
 * The analytic denoiser: for data that is the constant image μ, the optimal
 * noise prediction is ε = (x_t − √ᾱ_t·μ)/√(1−ᾱ_t). μ is read from the
 * conditioning (encoder_hidden_states[:, 0, 0]) and ᾱ_t from the schedule
 * table by the int64 timestep, so a sampler driving this UNet must converge to μ,
 * and classifier-free guidance to μ_u + g·(μ_c − μ_u).
 */
export function analyticUnet(alphasCumprod: ArrayLike<number>, hidden = 8): Uint8Array {
  const g = new GraphBuilder();
  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  const timestep = g.input('timestep', 'int64', ['batch']);
  const ehs = g.input('encoder_hidden_states', 'float32', ['batch', 77, hidden]);
  const table = g.constant(Array.from(alphasCumprod), [alphasCumprod.length]);
  const toImage = (v: string) => g.node('Reshape', [v, g.constant([-1, 1, 1, 1], [4], 'int64')]);
  const alpha = toImage(g.node('Gather', [table, timestep], [{ name: 'axis', type: 2, i: 0 }]));
  const sqrtAlpha = g.node('Sqrt', [alpha]);
  const sqrtOneMinus = g.node('Sqrt', [g.node('Sub', [g.constant([1], [1]), alpha])]);
  const mu = toImage(g.node('Slice', [ehs, g.constant([0, 0], [2], 'int64'), g.constant([1, 1], [2], 'int64'), g.constant([1, 2], [2], 'int64')]));
  const residual = g.node('Sub', [sample, g.node('Mul', [sqrtAlpha, mu])]);
  g.node('Div', [residual, sqrtOneMinus], [], 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  return g.toBytes();
}
