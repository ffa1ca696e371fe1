import * as ort from 'onnxruntime-node';
import { KomaError } from '../../domain/errors.js';
import type { InferenceComponent } from '../onnx/session.js';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { applyTokenWeights, tokenizeWeighted } from '../tokenizer/weighted-prompt.js';

/**
 * Prompts to the UNet's text conditioning.
 *   SD 1.x / 2.x: the text encoder's last hidden state [tokens, 768|1024].
 *   SDXL (and DiffSensei): the penultimate hidden states of both encoders,
 *   concatenated per token (768 + 1280 = 2048), plus the second encoder's
 *   pooled `text_embeds` [1280] for the UNet's added conditions.
 * Prompts longer than 75 tokens are encoded as several 77-token windows whose
 * states are concatenated along the token axis (UNets attend to any length);
 * when the UNet's token axis is fixed, only the first window is used.
 *
 * Prompts are read as weighted prompts by default ("(red scarf:1.3)",
 * "[rain]", see weighted-prompt.ts): each token's hidden state is scaled by
 * its weight and each window of each encoder is rescaled back to its
 * unweighted mean, as in A1111 (which also restores the mean per encoder for
 * SDXL). The pooled embedding stays unweighted: it is the EOS token's, and the
 * weights apply after the encoder. A prompt whose weights are all 1 encodes
 * bit-identically to reading it without weights.
 */
export interface PromptEmbedding {
  /** [tokens, dim] row-major. */
  hidden: Float32Array;
  tokens: number;
  dim: number;
  /** SDXL's pooled embedding of the first window, when the model has one. */
  pooled?: Float32Array;
}

export interface TextEncoderPart {
  tokenizer: ClipTokenizer;
  encoder: InferenceComponent;
}

export type HiddenLayer = 'last' | 'penultimate';

export interface EncodeOptions {
  /** How many 77-token windows every prompt gets (the longest prompt's count by default). */
  windows?: number;
  /** Whether the token axis may grow past 77 (false when the UNet fixes it). */
  allowLong?: boolean;
  /** Whether to parse the weight syntax (default true); false encodes brackets and colons as text. */
  weighted?: boolean;
}

/** One prompt for one encoder: its 77-id windows and, when weighted, the weight of every id. */
interface PromptTokens {
  ids: number[][];
  weights?: number[][];
}

export class PromptEncoder {
  constructor(
    private readonly parts: readonly TextEncoderPart[],
    private readonly layer: HiddenLayer,
  ) {
    if (parts.length === 0) throw new Error('a prompt encoder needs at least one text encoder');
  }

  get hasPooled(): boolean {
    return this.parts.length > 1;
  }

  /** Encodes several prompts in one batch per window; all results have the same token count. */
  async encode(prompts: readonly string[], options: EncodeOptions = {}): Promise<PromptEmbedding[]> {
    const first = this.parts[0]!.tokenizer;
    const weighted = options.weighted ?? true;
    // Tokenized once per encoder (their tokenizers may pad differently).
    const tokenized = this.parts.map(({ tokenizer }) =>
      prompts.map((p): PromptTokens => (weighted ? tokenizeWeighted(tokenizer, p) : { ids: tokenizer.tokenizeChunks(p) })),
    );
    const needed = Math.max(1, ...tokenized[0]!.map((t) => t.ids.length));
    const windows = options.allowLong === false ? 1 : Math.max(options.windows ?? 1, needed);
    const perWindow: { hidden: Float32Array[]; dim: number; pooled?: Float32Array[] }[] = [];
    for (let w = 0; w < windows; w++) perWindow.push(await this.encodeWindow(tokenized, w));
    const tokens = first.maxLength * windows;
    const dim = perWindow[0]!.dim;
    return prompts.map((_, p) => {
      const hidden = new Float32Array(tokens * dim);
      perWindow.forEach((window, w) => hidden.set(window.hidden[p]!, w * first.maxLength * dim));
      const pooled = perWindow[0]!.pooled?.[p];
      return { hidden, tokens, dim, ...(pooled ? { pooled } : {}) };
    });
  }

  /** What SDXL uses for an empty negative prompt: zeros, not the encoding of "". */
  zeros(like: PromptEmbedding): PromptEmbedding {
    return { hidden: new Float32Array(like.hidden.length), tokens: like.tokens, dim: like.dim, ...(like.pooled ? { pooled: new Float32Array(like.pooled.length) } : {}) };
  }

  /** `tokenized[part][prompt]`: every prompt's windows for every encoder. */
  private async encodeWindow(tokenized: readonly (readonly PromptTokens[])[], window: number) {
    const prompts = tokenized[0]!;
    const length = this.parts[0]!.tokenizer.maxLength;
    const outputs: { states: Float32Array[]; dim: number; pooled?: Float32Array }[] = [];
    for (const [index, part] of this.parts.entries()) {
      // Short prompts get empty windows (BOS, EOS, padding) to match the longest.
      const ids = tokenized[index]!.map((t) => t.ids[window] ?? part.tokenizer.tokenize(''));
      const result = await part.encoder.run({ input_ids: idsTensor(ids, part) });
      const name = this.layer === 'last' ? 'last_hidden_state' : penultimateName(part.encoder);
      const states = result[name];
      if (!states) throw new KomaError('model', `${part.encoder.path} has no output "${name}"`);
      const dim = Number(states.dims.at(-1));
      const data = states.data as Float32Array;
      // Weights per prompt and per encoder, before concatenating (A1111 restores each encoder's mean).
      const perPrompt = tokenized[index]!.map((t, p) => {
        const own = data.subarray(p * length * dim, (p + 1) * length * dim);
        const weights = t.weights?.[window];
        return weights ? applyTokenWeights(own, weights, dim) : own;
      });
      const pooledTensor = index === 1 ? (result.text_embeds ?? result.pooler_output) : undefined;
      outputs.push({ states: perPrompt, dim, ...(pooledTensor ? { pooled: pooledTensor.data as Float32Array } : {}) });
    }
    const dim = outputs.reduce((s, o) => s + o.dim, 0);
    // Concatenate the encoders per token: [t, d1] ‖ [t, d2] → [t, d1 + d2].
    const hidden = prompts.map((_, p) => {
      const out = new Float32Array(length * dim);
      for (let t = 0; t < length; t++) {
        let offset = t * dim;
        for (const o of outputs) {
          out.set(o.states[p]!.subarray(t * o.dim, (t + 1) * o.dim), offset);
          offset += o.dim;
        }
      }
      return out;
    });
    const pooledAll = outputs[1]?.pooled;
    const pooledDim = pooledAll ? pooledAll.length / prompts.length : 0;
    const pooled = pooledAll ? prompts.map((_, p) => pooledAll.slice(p * pooledDim, (p + 1) * pooledDim)) : undefined;
    return { hidden, dim, ...(pooled ? { pooled } : {}) };
  }
}

function idsTensor(ids: number[][], part: TextEncoderPart): ort.Tensor {
  const type = part.encoder.inputInfo('input_ids').type;
  const flat = ids.flat();
  const dims = [ids.length, part.tokenizer.maxLength];
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(flat), dims);
  return new ort.Tensor('int64', BigInt64Array.from(flat, (v) => BigInt(v)), dims);
}

/** `hidden_states.N` outputs run from the embeddings (0) to the last layer; SDXL wants the one before last. */
export function penultimateName(encoder: InferenceComponent): string {
  const layers = encoder.outputNames
    .map((n) => /^hidden_states\.(\d+)$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
  if (layers.length < 2) {
    throw new KomaError('model', `${encoder.path} does not output its hidden states; export SDXL-class text encoders with output_hidden_states (optimum does this by default)`);
  }
  return `hidden_states.${Math.max(...layers) - 1}`;
}
