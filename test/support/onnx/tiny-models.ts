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
