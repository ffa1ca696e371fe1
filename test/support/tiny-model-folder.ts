import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { familyDefaults, ManifestSchema, type ModelFamily } from '../../src/diffusion/models/manifest.js';
import { noiseSchedule, SchedulerConfigSchema } from '../../src/diffusion/schedulers/index.js';
import { BYTE_CHARS, byteLevelVocab } from './clip-vocab.js';
import { GraphBuilder, intAttr } from './onnx/graph-builder.js';
import {
  diffSenseiUnet,
  gaussianUnet,
  TEST_LATENT_BIAS,
  TEST_LATENT_FACTORS,
  TEST_LATENT_INVERSE,
  tinyTextEncoder,
  tinyVaeDecoder,
  tinyVaeEncoder,
} from './onnx/pipeline-models.js';

/**
 * A whole installed model in the optimum-cli folder layout, with a manifest,
 * built from the tiny graphs: the real loading code reads it like any export.
 * Prompts are single letters: the byte-level test vocabulary makes "a" one
 * token, whose embedding carries a known μ in feature 0 (see WORD_MU), so a
 * test knows exactly which image each prompt must converge to.
 */
export const WORD_MU: Record<string, number> = { a: 0.2, b: 0.8, c: -0.5, d: 0.3, e: 0.02, f: -0.01 };

/** id of the one-letter word `letter` ("a</w>"). */
export function wordId(letter: string): number {
  return 256 + BYTE_CHARS.indexOf(letter);
}

const muOf = (id: number) => Object.entries(WORD_MU).find(([w]) => wordId(w) === id)?.[1] ?? 0;

export const ALPHAS = noiseSchedule(SchedulerConfigSchema.parse({})).alphasCumprod;

export interface TinyModelOptions {
  id: string;
  family: ModelFamily;
  vaeEncoder?: boolean;
  /** s² of the Gaussian data (0: every latent converges to μ exactly). */
  variance?: number;
  /** DiffSensei: a character encoder whose tokens carry each reference's mean pixel. */
  characterEncoder?: boolean;
  /** SDXL: how much text_embeds[0] and time_ids[0] add to μ. */
  pooledWeight?: number;
  timeIdsWeight?: number;
  dialogValue?: number;
  /** Which text token's feature 0 carries μ (default 1, the first word); 78 is the second window's first word. */
  muToken?: number;
  /** Overrides the family's VAE scaling factor (1 keeps decoded colours out of clipping). */
  vaeScalingFactor?: number;
}

/** Writes `<modelsDir>/<id>/` and returns the manifest path. */
export function writeTinyModel(modelsDir: string, options: TinyModelOptions): string {
  const dir = path.join(modelsDir, options.id);
  const put = (relative: string, bytes: Uint8Array | string) => {
    mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    writeFileSync(path.join(dir, relative), bytes);
  };
  for (const tokenizer of ['tokenizer', 'tokenizer_2']) {
    put(`${tokenizer}/vocab.json`, JSON.stringify(byteLevelVocab()));
    put(`${tokenizer}/merges.txt`, '#version: 0.2\n');
  }
  const sdxlClass = ['sdxl', 'sdxl-turbo', 'diffsensei'].includes(options.family);
  const components: Record<string, string> = {};
  if (sdxlClass) {
    // Two encoders of width 4 → 8-wide token states; μ sits in encoder 1's feature 0.
    put('text_encoder/model.onnx', tinyTextEncoder({ dim: 4, layers: 2, embed: (id) => [muOf(id), 0, 0, 0] }));
    put('text_encoder_2/model.onnx', tinyTextEncoder({ dim: 4, layers: 3, pooledDim: 16, embed: (id) => [muOf(id), 0, 0, 0] }));
    Object.assign(components, { textEncoder2: 'text_encoder_2/model.onnx', tokenizer2: 'tokenizer_2' });
  } else {
    put('text_encoder/model.onnx', tinyTextEncoder({ dim: 8, embed: (id) => [muOf(id), 0, 0, 0, 0, 0, 0, 0] }));
  }
  if (options.family === 'diffsensei') {
    put('unet/model.onnx', diffSenseiUnet(ALPHAS, { dialogValue: options.dialogValue ?? 0 }));
  } else {
    const terms = [];
    if (sdxlClass) {
      terms.push({ input: 'text_embeds', shape: ['batch', 16], index: 0, weight: options.pooledWeight ?? 0 });
      terms.push({ input: 'time_ids', shape: ['batch', 6], index: 0, weight: options.timeIdsWeight ?? 0 });
    }
    if (options.family === 'lcm') terms.push({ input: 'timestep_cond', shape: ['batch', 256], index: 128, weight: 0 });
    put('unet/model.onnx', gaussianUnet(ALPHAS, { variance: options.variance ?? 0, terms, ...(options.muToken !== undefined ? { muToken: options.muToken } : {}) }));
  }
  put('vae_decoder/model.onnx', tinyVaeDecoder({ factors: TEST_LATENT_FACTORS, bias: TEST_LATENT_BIAS }));
  if (options.vaeEncoder) {
    put('vae_encoder/model.onnx', tinyVaeEncoder({ inverse: TEST_LATENT_INVERSE, bias: TEST_LATENT_BIAS }));
    components.vaeEncoder = 'vae_encoder/model.onnx';
  }
  if (options.characterEncoder) {
    put('character_encoder/model.onnx', meanPixelCharacterEncoder());
    components.characterEncoder = 'character_encoder/model.onnx';
  }
  const manifest = ManifestSchema.parse({
    id: options.id,
    family: options.family,
    components,
    ...familyDefaults(options.family),
    ...(options.vaeScalingFactor ? { vaeScalingFactor: options.vaeScalingFactor } : {}),
    latentRgb: { factors: TEST_LATENT_FACTORS, bias: TEST_LATENT_BIAS },
  });
  put('manifest.json', JSON.stringify(manifest, null, 2));
  return path.join(dir, 'manifest.json');
}

/**
 * clip_pixel_values [4, 3, 224, 224] → character tokens [1, 80, 8]:
 * the 16 dummy tokens are −1; the 16 tokens of slot k all carry the mean of
 * slot k's (normalised) pixels, so an empty slot gives 0.
 */
export function meanPixelCharacterEncoder(): Uint8Array {
  const g = new GraphBuilder();
  const pixels = g.input('clip_pixel_values', 'float32', [4, 3, 224, 224]);
  const means = g.node('ReduceMean', [pixels], [{ name: 'axes', type: 7, ints: [1, 2, 3] }, intAttr('keepdims', 0)]); // [4]
  const perToken = g.node('Expand', [g.node('Reshape', [means, g.constant([4, 1], [2], 'int64')]), g.constant([4, 16], [2], 'int64')]);
  const slots = g.node('Reshape', [perToken, g.constant([64], [1], 'int64')]);
  const tokens = g.node('Concat', [g.constant(Array(16).fill(-1), [16]), slots], [intAttr('axis', 0)]);
  const wide = g.node('Expand', [g.node('Reshape', [tokens, g.constant([1, 80, 1], [3], 'int64')]), g.constant([1, 80, 8], [3], 'int64')]);
  g.node('Identity', [wide], [], 'character_tokens');
  g.output('character_tokens', 'float32', [1, 80, 8]);
  return g.toBytes();
}
