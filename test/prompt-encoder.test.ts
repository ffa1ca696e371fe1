import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KomaError } from '../src/domain/errors.js';
import { type InferenceComponent, OnnxComponent } from '../src/diffusion/onnx/session.js';
import { penultimateName, PromptEncoder } from '../src/diffusion/pipeline/prompt-encoder.js';
import { ClipTokenizer } from '../src/diffusion/tokenizer/clip-tokenizer.js';
import { tinyTextEncoder } from './support/onnx/pipeline-models.js';
import { HELLO_MERGES, helloVocab } from './support/clip-vocab.js';
import { TestGraphs } from './support/onnx/load-graphs.js';

/**
 * The prompt encoder on tiny text encoders whose every output is known
 * (hidden_states.k = embedding + k), with the small CLIP-shaped vocabulary of
 * tokenizer.test.ts: ids 0..255 byte characters, 256..511 the same with
 * `</w>`, "hello" = 600, so "a" = 320.
 */
const vocab = helloVocab();
const merges = HELLO_MERGES;

const [BOS, EOS, A, HELLO] = [49406, 49407, 320, 600];
/** A 77-token window by hand: the ids, then padding. */
const window77 = (ids: number[], pad: number) => [...ids, ...Array<number>(77 - ids.length).fill(pad)];
const LONG = 'a '.repeat(100); // 100 content tokens: windows of 75 + 25

const tokenizer1 = new ClipTokenizer({ vocab, merges }); // pads with EOS (SD 1.x, SDXL's first)
const tokenizer2 = new ClipTokenizer({ vocab, merges, padTokenId: 0 }); // pads with "!" (SDXL's second)

// The embeddings tell the encoders apart; each layer adds 1.
const embedSd = (id: number) => [id, 1, -id / 4];
const embed1 = (id: number) => [id, 0.5];
const embed2 = (id: number) => [-id, id / 4, 7];

const graphs = new TestGraphs('koma-prompt-');
const load = (name: string, bytes: Uint8Array) => graphs.load(name, bytes);

let sdEncoder: OnnxComponent;
let xlEncoder1: OnnxComponent;
let xlEncoder2: OnnxComponent;
beforeAll(async () => {
  sdEncoder = await load('sd.onnx', tinyTextEncoder({ dim: 3, embed: embedSd }));
  xlEncoder1 = await load('xl-1.onnx', tinyTextEncoder({ dim: 2, layers: 3, embed: embed1 }));
  xlEncoder2 = await load('xl-2.onnx', tinyTextEncoder({ dim: 3, layers: 4, pooledDim: 6, embed: embed2 }));
});
afterAll(() => graphs.releaseAll());

const sd = () => new PromptEncoder([{ tokenizer: tokenizer1, encoder: sdEncoder }], 'last');
const sdxl = () =>
  new PromptEncoder(
    [
      { tokenizer: tokenizer1, encoder: xlEncoder1 },
      { tokenizer: tokenizer2, encoder: xlEncoder2 },
    ],
    'penultimate',
  );

/** Expected SD 1.x states: the embedding of every id (no layers). */
const sdStates = (ids: number[]) => ids.flatMap(embedSd);
/** Expected SDXL states: hidden_states.2 of encoder 1 ‖ hidden_states.3 of encoder 2, per token. */
const xlStates = (ids1: number[], ids2: number[]) => ids1.flatMap((id, t) => [...embed1(id).map((v) => v + 2), ...embed2(ids2[t]!).map((v) => v + 3)]);

describe('PromptEncoder, SD 1.x', () => {
  it('uses last_hidden_state [77, dim] and has no pooled embedding', async () => {
    const encoder = sd();
    expect(encoder.hasPooled).toBe(false);
    const [out] = await encoder.encode(['hello a']);
    expect(out!.tokens).toBe(77);
    expect(out!.dim).toBe(3);
    expect(out!.pooled).toBeUndefined();
    expect(Array.from(out!.hidden)).toEqual(sdStates(window77([BOS, HELLO, A, EOS], EOS)));
    // By hand: token 1 is "hello" (600).
    expect(Array.from(out!.hidden.subarray(3, 6))).toEqual([600, 1, -150]);
  });

  it('encodes a long prompt as 2 windows (154 tokens) and pads shorter prompts in the batch with empty windows', async () => {
    const [long, short] = await sd().encode([LONG, 'hello']);
    expect(long!.tokens).toBe(154);
    expect(short!.tokens).toBe(154);
    const longIds = [...[BOS, ...Array<number>(75).fill(A), EOS], ...window77([BOS, ...Array<number>(25).fill(A), EOS], EOS)];
    const shortIds = [...window77([BOS, HELLO, EOS], EOS), ...window77([BOS, EOS], EOS)];
    expect(Array.from(long!.hidden)).toEqual(sdStates(longIds));
    expect(Array.from(short!.hidden)).toEqual(sdStates(shortIds));
  });

  it('keeps 77 tokens (the first window) with allowLong: false, and adds windows on request', async () => {
    const [kept] = await sd().encode([LONG], { allowLong: false });
    expect(kept!.tokens).toBe(77);
    expect(Array.from(kept!.hidden)).toEqual(sdStates([BOS, ...Array<number>(75).fill(A), EOS]));
    const [three] = await sd().encode(['a'], { windows: 3 });
    expect(three!.tokens).toBe(231);
    expect(Array.from(three!.hidden)).toEqual(sdStates([...window77([BOS, A, EOS], EOS), ...window77([BOS, EOS], EOS), ...window77([BOS, EOS], EOS)]));
  });

  it('gives zeros of the same shape', async () => {
    const encoder = sd();
    const [out] = await encoder.encode(['hello']);
    const zeros = encoder.zeros(out!);
    expect(zeros.tokens).toBe(77);
    expect(zeros.dim).toBe(3);
    expect(zeros.hidden).toHaveLength(77 * 3);
    expect(zeros.hidden.every((v) => v === 0)).toBe(true);
    expect(zeros.pooled).toBeUndefined();
  });
});

describe('PromptEncoder, SDXL', () => {
  it('concatenates both penultimate states per token and pools text_embeds from the second encoder', async () => {
    const encoder = sdxl();
    expect(encoder.hasPooled).toBe(true);
    const [first, second] = await encoder.encode(['hello a', 'a']);
    expect(first!.tokens).toBe(77);
    expect(first!.dim).toBe(5);
    expect(Array.from(first!.hidden)).toEqual(xlStates(window77([BOS, HELLO, A, EOS], EOS), window77([BOS, HELLO, A, EOS], 0)));
    expect(Array.from(second!.hidden)).toEqual(xlStates(window77([BOS, A, EOS], EOS), window77([BOS, A, EOS], 0)));
    // By hand, prompt 1: token 0 (BOS in both), token 3 (EOS in both), token 4 (EOS | "!" = 0).
    expect(Array.from(first!.hidden.subarray(0, 5))).toEqual([49408, 2.5, -49403, 12354.5, 10]);
    expect(Array.from(first!.hidden.subarray(15, 20))).toEqual([49409, 2.5, -49404, 12354.75, 10]);
    expect(Array.from(first!.hidden.subarray(20, 25))).toEqual([49409, 2.5, 3, 3, 10]);
    // text_embeds = last layer (embedding + 4) at EOS, features repeated to 6.
    const pooled = [-EOS + 4, EOS / 4 + 4, 11, -EOS + 4, EOS / 4 + 4, 11];
    expect(Array.from(first!.pooled!)).toEqual(pooled);
    expect(Array.from(second!.pooled!)).toEqual(pooled);
  });

  it('windows long prompts for both encoders and keeps one pooled embedding per prompt', async () => {
    const [long, short] = await sdxl().encode([LONG, 'hello']);
    expect(long!.tokens).toBe(154);
    const content = (n: number) => [BOS, ...Array<number>(n).fill(A), EOS];
    expect(Array.from(long!.hidden)).toEqual(
      xlStates([...content(75), ...window77(content(25), EOS)], [...content(75), ...window77(content(25), 0)]),
    );
    expect(Array.from(short!.hidden)).toEqual(xlStates([...window77([BOS, HELLO, EOS], EOS), ...window77([BOS, EOS], EOS)], [...window77([BOS, HELLO, EOS], 0), ...window77([BOS, EOS], 0)]));
    expect(long!.pooled).toHaveLength(6);
    expect(short!.pooled).toHaveLength(6);
  });

  it('gives zeros for the hidden states and the pooled embedding', async () => {
    const encoder = sdxl();
    const [out] = await encoder.encode(['hello']);
    const zeros = encoder.zeros(out!);
    expect(zeros.hidden).toHaveLength(77 * 5);
    expect(zeros.hidden.every((v) => v === 0)).toBe(true);
    expect(Array.from(zeros.pooled!)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('names the penultimate layer from the hidden_states outputs', () => {
    expect(penultimateName(xlEncoder1)).toBe('hidden_states.2');
    expect(penultimateName(xlEncoder2)).toBe('hidden_states.3');
  });

  it('explains an encoder exported without hidden states', async () => {
    const encoder = new PromptEncoder(
      [
        { tokenizer: tokenizer1, encoder: sdEncoder },
        { tokenizer: tokenizer2, encoder: xlEncoder2 },
      ],
      'penultimate',
    );
    const error = await encoder.encode(['hello']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KomaError);
    expect((error as KomaError).code).toBe('model');
    expect((error as KomaError).message).toMatch(/sd\.onnx does not output its hidden states; export SDXL-class text encoders with output_hidden_states/);
  });
});

describe('PromptEncoder edge cases', () => {
  /** An in-memory encoder: int32 ids in, last_hidden_state [B, 77, 1] = the ids out. */
  function fakeEncoder(outputs: string[], seen: ort.Tensor[]): InferenceComponent {
    return {
      path: 'fake.onnx',
      inputNames: ['input_ids'],
      outputNames: outputs,
      inputInfo: () => ({ type: 'int32', shape: ['batch', 77] }),
      run: async (feeds): Promise<Record<string, ort.Tensor>> => {
        const ids = feeds.input_ids!;
        seen.push(ids);
        if (!outputs.includes('last_hidden_state')) return {};
        return { last_hidden_state: new ort.Tensor('float32', Float32Array.from(ids.data as Int32Array), [...ids.dims, 1]) };
      },
      release: async () => {},
    };
  }

  it('feeds int32 ids to an encoder that declares them', async () => {
    const seen: ort.Tensor[] = [];
    const [out] = await new PromptEncoder([{ tokenizer: tokenizer1, encoder: fakeEncoder(['last_hidden_state'], seen) }], 'last').encode(['a']);
    expect(seen[0]!.type).toBe('int32');
    expect(seen[0]!.dims).toEqual([1, 77]);
    expect(Array.from(out!.hidden)).toEqual(window77([BOS, A, EOS], EOS));
  });

  it('reports a missing last_hidden_state as a model error', async () => {
    const encoder = new PromptEncoder([{ tokenizer: tokenizer1, encoder: fakeEncoder(['pooler_output'], []) }], 'last');
    await expect(encoder.encode(['a'])).rejects.toThrowError(new KomaError('model', 'fake.onnx has no output "last_hidden_state"'));
  });

  it('needs at least one text encoder', () => {
    expect(() => new PromptEncoder([], 'last')).toThrowError(/at least one text encoder/);
  });
});
