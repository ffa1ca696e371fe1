import * as ort from 'onnxruntime-node';
import type { Box } from '../../domain/box.js';
import { KomaError } from '../../domain/errors.js';
import { characterAttentionBias, DIFFSENSEI_TOKENS, dialogMaskGrid } from '../layout/diffsensei-inputs.js';
import type { LatentGrid } from '../layout/region-masks.js';
import type { InferenceComponent, TensorInfo } from '../onnx/session.js';
import { guidanceScaleEmbedding } from '../schedulers/index.js';
import type { PromptEmbedding } from './prompt-encoder.js';

/**
 * Everything a UNet call needs besides `sample` and `timestep`, built once per
 * run (it does not change between steps). Which inputs exist is read from the
 * UNet itself, so one builder serves every family:
 *   encoder_hidden_states   text tokens (‖ character tokens for DiffSensei)
 *   text_embeds, time_ids   SDXL's added conditions: pooled text, [h, w, 0, 0, h, w]
 *   timestep_cond           LCM's guidance embedding
 *   ip_bias_s<N>            DiffSensei: additive attention bias at pixel stride N
 *   dialog_mask             DiffSensei: 1 in latent cells inside dialog boxes
 *   ip_scale                DiffSensei: weight of the character branch
 */

/** One row of the UNet batch: an unconditional or conditioned sample of some panel. */
export interface UnetRow {
  text: PromptEmbedding;
  /** DiffSensei character tokens [characterTokens, dim]; zeros when absent. */
  characterTokens?: Float32Array;
  /** Boxes of the characters whose tokens these are, in slot order (none for uncond rows). */
  characterBoxes?: readonly Box[];
  /** Dialog boxes (none for uncond rows). */
  dialogBoxes?: readonly Box[];
}

export interface FeedContext {
  width: number;
  height: number;
  /** VAE downsampling factor (8 for SD-family models). */
  scaleFactor: number;
  guidance: number;
  characterScale: number;
}

/** The UNet's native layout inputs, when it has them (a DiffSensei export). */
export interface NativeLayout {
  /** Character tokens appended after the text (dummy + slots·perCharacter). */
  characterTokens: number;
  /** Attention-bias inputs and their pixel strides, e.g. ip_bias_s16 → 16. */
  biasInputs: { name: string; stride: number }[];
  dialogMask: boolean;
  /** The separate character-token input, when the export does not concatenate them. */
  tokenInput?: string;
}

const TOKEN_INPUTS = ['character_tokens', 'ip_tokens', 'image_prompt_embeds'];

/** Reads the native layout inputs from the UNet's input names and shapes; undefined for stock UNets. */
export function nativeLayoutOf(unet: InferenceComponent, fallbackTokens = DIFFSENSEI_TOKENS.dummyTokens + 4 * DIFFSENSEI_TOKENS.tokensPerCharacter): NativeLayout | undefined {
  const biasInputs = unet.inputNames
    .map((name) => ({ name, match: /^ip_bias_s(\d+)$/.exec(name) }))
    .filter((b) => b.match)
    .map((b) => ({ name: b.name, stride: Number(b.match![1]) }));
  const tokenInput = TOKEN_INPUTS.find((n) => unet.inputNames.includes(n));
  const dialogMask = unet.inputNames.includes('dialog_mask');
  if (biasInputs.length === 0 && !tokenInput && !dialogMask) return undefined;
  const declared = biasInputs.map((b) => unet.inputInfo(b.name).shape.at(-1)).find((d): d is number => typeof d === 'number');
  const fromTokens = tokenInput ? unet.inputInfo(tokenInput).shape[1] : undefined;
  const characterTokens = declared ?? (typeof fromTokens === 'number' ? fromTokens : fallbackTokens);
  return { characterTokens, biasInputs, dialogMask, ...(tokenInput ? { tokenInput } : {}) };
}

export function buildConstantFeeds(unet: InferenceComponent, rows: readonly UnetRow[], context: FeedContext, native = nativeLayoutOf(unet)): Record<string, ort.Tensor> {
  const names = new Set(unet.inputNames);
  const batch = rows.length;
  const grid: LatentGrid = { width: context.width / context.scaleFactor, height: context.height / context.scaleFactor };
  const feeds: Record<string, ort.Tensor> = {};
  const first = rows[0]!.text;
  const appendTokens = native !== undefined && native.tokenInput === undefined && native.biasInputs.length > 0;
  const charTokens = native?.characterTokens ?? 0;

  // Text (and, for DiffSensei exports that concatenate them, character) tokens.
  const tokens = first.tokens + (appendTokens ? charTokens : 0);
  const hidden = new Float32Array(batch * tokens * first.dim);
  rows.forEach((row, b) => {
    if (row.text.tokens !== first.tokens || row.text.dim !== first.dim) throw new Error('every row of a UNet batch needs the same token count and width');
    hidden.set(row.text.hidden, b * tokens * first.dim);
    if (appendTokens && row.characterTokens) hidden.set(checkedTokens(row.characterTokens, charTokens, first.dim), (b * tokens + first.tokens) * first.dim);
  });
  feeds.encoder_hidden_states = new ort.Tensor('float32', hidden, [batch, tokens, first.dim]);
  checkTokenAxis(unet.inputInfo('encoder_hidden_states'), tokens, first.dim);

  if (native?.tokenInput) {
    const data = new Float32Array(batch * charTokens * first.dim);
    rows.forEach((row, b) => row.characterTokens && data.set(checkedTokens(row.characterTokens, charTokens, first.dim), b * charTokens * first.dim));
    feeds[native.tokenInput] = new ort.Tensor('float32', data, [batch, charTokens, first.dim]);
  }

  if (names.has('text_embeds')) {
    const pooledDim = Number(unet.inputInfo('text_embeds').shape[1]) || first.pooled?.length || 0;
    const pooled = new Float32Array(batch * pooledDim);
    rows.forEach((row, b) => {
      if (!row.text.pooled) throw new KomaError('model', 'this UNet needs pooled text embeddings (text_embeds): the model needs a second text encoder with a projection');
      pooled.set(row.text.pooled.subarray(0, pooledDim), b * pooledDim);
    });
    feeds.text_embeds = new ort.Tensor('float32', pooled, [batch, pooledDim]);
  }
  if (names.has('time_ids')) {
    // original size, crop top-left, target size: the panel is rendered as asked, uncropped.
    const ids = [context.height, context.width, 0, 0, context.height, context.width];
    feeds.time_ids = new ort.Tensor('float32', Float32Array.from({ length: batch * 6 }, (_, i) => ids[i % 6]!), [batch, 6]);
  }
  if (names.has('timestep_cond')) {
    const dim = Number(unet.inputInfo('timestep_cond').shape[1]) || 256;
    const embedding = guidanceScaleEmbedding(context.guidance, dim);
    const data = new Float32Array(batch * dim);
    for (let b = 0; b < batch; b++) data.set(embedding, b * dim);
    feeds.timestep_cond = new ort.Tensor('float32', data, [batch, dim]);
  }

  for (const bias of native?.biasInputs ?? []) {
    const biasGrid = { width: context.width / bias.stride, height: context.height / bias.stride };
    if (!Number.isInteger(biasGrid.width) || !Number.isInteger(biasGrid.height)) {
      throw new KomaError('invalid-input', `this model needs panel sizes in multiples of ${bias.stride} px; ${context.width}×${context.height} is not`);
    }
    const cells = biasGrid.width * biasGrid.height;
    const data = new Float32Array(batch * cells * charTokens);
    rows.forEach((row, b) => data.set(characterAttentionBias(row.characterBoxes ?? [], biasGrid, charTokens), b * cells * charTokens));
    feeds[bias.name] = new ort.Tensor('float32', data, [batch, 1, cells, charTokens]);
  }
  if (native?.dialogMask) {
    const cells = grid.width * grid.height;
    const data = new Float32Array(batch * cells);
    rows.forEach((row, b) => data.set(dialogMaskGrid(row.dialogBoxes ?? [], grid), b * cells));
    feeds.dialog_mask = new ort.Tensor('float32', data, [batch, 1, grid.height, grid.width]);
  }
  for (const name of ['ip_scale', 'character_scale']) {
    if (names.has(name)) feeds[name] = new ort.Tensor('float32', Float32Array.of(context.characterScale), unet.inputInfo(name).shape.length === 0 ? [] : [1]);
  }
  const missing = unet.inputNames.filter((n) => n !== 'sample' && n !== 'timestep' && !(n in feeds));
  if (missing.length) throw new KomaError('model', `${unet.path} has inputs Koma does not know how to fill: ${missing.join(', ')}`);
  return feeds;
}

function checkedTokens(tokens: Float32Array, count: number, dim: number): Float32Array {
  if (tokens.length !== count * dim) throw new KomaError('model', `character tokens have ${tokens.length} values; the UNet expects ${count}×${dim}`);
  return tokens;
}

function checkTokenAxis(info: TensorInfo, tokens: number, dim: number): void {
  const [, declaredTokens, declaredDim] = info.shape;
  if (typeof declaredDim === 'number' && declaredDim !== dim) {
    throw new KomaError('model', `the text encoders give ${dim}-wide token states but the UNet expects ${declaredDim}: the manifest pairs the wrong encoders with this UNet`);
  }
  if (typeof declaredTokens === 'number' && declaredTokens !== tokens) {
    throw new KomaError('model', `the UNet takes exactly ${declaredTokens} conditioning tokens, got ${tokens}`);
  }
}
