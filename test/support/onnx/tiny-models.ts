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
