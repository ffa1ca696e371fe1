import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxComponent } from '../src/diffusion/onnx/session.js';
import { PromptEncoder } from '../src/diffusion/pipeline/prompt-encoder.js';
import { ClipTokenizer } from '../src/diffusion/tokenizer/clip-tokenizer.js';
import { applyTokenWeights, parseWeightedPrompt, tokenizeWeighted, type WeightedSegment } from '../src/diffusion/tokenizer/weighted-prompt.js';
import { tinyTextEncoder } from './support/onnx/pipeline-models.js';
import { HELLO_MERGES, helloVocab } from './support/clip-vocab.js';
import { TestGraphs } from './support/onnx/load-graphs.js';

/**
 * Weighted prompts: the parser, the per-token weights in the tokenizer's
 * windows, and the emphasis math in the prompt encoder. The vocabulary is the
 * small CLIP-shaped one of tokenizer.test.ts: printable byte b has id b−33,
 * word-final ids are +256, "hello" = 600.
 */
const vocab = helloVocab();
const merges = HELLO_MERGES;
const tokenizer = new ClipTokenizer({ vocab, merges });
const tokenizerBang = new ClipTokenizer({ vocab, merges, padTokenId: 0 });

/** Byte character ids: `ch('a')` = 64, `end('a')` = "a</w>" = 320. */
const ch = (c: string) => c.charCodeAt(0) - 33;
const end = (c: string) => 256 + ch(c);
const [BOS, EOS, HELLO, A, B, C] = [49406, 49407, 600, end('a'), end('b'), end('c')];
const window77 = <T>(values: T[], pad: T) => [...values, ...Array<T>(77 - values.length).fill(pad)];

const seg = (text: string, weight = 1): WeightedSegment => ({ text, weight });
/** Segments compared with weights to 12 digits (products like 1.1·1.1 are not exact). */
function expectSegments(prompt: string, expected: WeightedSegment[]): void {
  const actual = parseWeightedPrompt(prompt);
  expect(actual.map((s) => s.text)).toEqual(expected.map((s) => s.text));
  actual.forEach((s, i) => expect(s.weight).toBeCloseTo(expected[i]!.weight, 12));
}

describe('parseWeightedPrompt', () => {
  it('keeps a plain prompt as one segment of weight 1, and an empty one as none', () => {
    expect(parseWeightedPrompt('a cat on a roof')).toEqual([seg('a cat on a roof')]);
    expect(parseWeightedPrompt("don't 猫 🐱")).toEqual([seg("don't 猫 🐱")]);
    expect(parseWeightedPrompt('')).toEqual([]);
  });

  it('reads the A1111 example', () => {
    expectSegments('a (red scarf:1.3) on a [rainy] street, ((very)) happy', [
      seg('a '),
      seg('red scarf', 1.3),
      seg(' on a '),
      seg('rainy', 1 / 1.1),
      seg(' street, '),
      seg('very', 1.21),
      seg(' happy'),
    ]);
  });

  it('multiplies nested weights', () => {
    expectSegments('(((x)))', [seg('x', 1.331)]);
    expectSegments('[[x]]', [seg('x', 1 / 1.21)]);
    expectSegments('((a:1.5))', [seg('a', 1.65)]);
    expectSegments('(a:2) [b (c:1.5)]', [seg('a', 2), seg(' '), seg('b ', 1 / 1.1), seg('c', 1.5 / 1.1)]);
    expectSegments('(a (b:2) c)', [seg('a ', 1.1), seg('b', 2.2), seg(' c', 1.1)]);
    // ×1.1 then ÷1.1 is exactly 1, so it merges with its neighbours.
    expect(parseWeightedPrompt('a ([x]) b')).toEqual([seg('a x b')]);
  });

  it('merges neighbours of equal weight, including explicit weight 1', () => {
    expect(parseWeightedPrompt('a (b:1) c')).toEqual([seg('a b c')]);
    expect(parseWeightedPrompt('(a:1.2)(b:1.2) c')).toEqual([seg('ab', 1.2), seg(' c')]);
  });

  it('reads escaped brackets, colons and backslashes as characters', () => {
    expect(parseWeightedPrompt('\\(x\\) \\[y\\]')).toEqual([seg('(x) [y]')]);
    expect(parseWeightedPrompt('\\(x:1.2)')).toEqual([seg('(x:1.2)')]);
    expectSegments('(a\\:1.2)', [seg('a:1.2', 1.1)]);
    expectSegments('(a\\))', [seg('a)', 1.1)]);
    expect(parseWeightedPrompt('back\\\\slash')).toEqual([seg('back\\slash')]);
    // A backslash before anything else is itself.
    expect(parseWeightedPrompt('a\\b')).toEqual([seg('a\\b')]);
  });

  it('treats unbalanced brackets as text, keeping the weights of complete groups inside', () => {
    expect(parseWeightedPrompt('(a')).toEqual([seg('(a')]);
    expect(parseWeightedPrompt('a)')).toEqual([seg('a)')]);
    expect(parseWeightedPrompt('[a')).toEqual([seg('[a')]);
    expect(parseWeightedPrompt('a] b)')).toEqual([seg('a] b)')]);
    expect(parseWeightedPrompt('(rain (red:1.2)')).toEqual([seg('(rain '), seg('red', 1.2)]);
    expectSegments('x ((y)', [seg('x ('), seg('y', 1.1)]);
    // A closer only closes the innermost group, and only of its own kind.
    expectSegments('(a [b) c]', [seg('(a '), seg('b) c', 1 / 1.1)]);
  });

  it('leaves emoticons alone', () => {
    expect(parseWeightedPrompt('sad :( then happy :) or :-( ;) =] :[ ^_^ <3')).toEqual([seg('sad :( then happy :) or :-( ;) =] :[ ^_^ <3')]);
    expect(parseWeightedPrompt(':( (red:1.2) :)')).toEqual([seg(':( '), seg('red', 1.2), seg(' :)')]);
    // An emoticon inside a group is text too; the next ")" closes the group.
    expectSegments('(smile :-))', [seg('smile :-)', 1.1)]);
    expect(parseWeightedPrompt('(happy :)')).toEqual([seg('(happy :)')]);
  });

  it('accepts plain decimals as weights and clamps them to 0..3', () => {
    expectSegments('(cat:1.25)', [seg('cat', 1.25)]);
    expectSegments('(cat:.5)', [seg('cat', 0.5)]);
    expectSegments('(cat:+1.5)', [seg('cat', 1.5)]);
    expectSegments('(cat:0)', [seg('cat', 0)]);
    expectSegments('(cat:5)', [seg('cat', 3)]);
    expectSegments('(cat:-1)', [seg('cat', 0)]);
    // The last colon with a number before ")" is the weight; earlier ones are text.
    expectSegments('(a:b:1.2)', [seg('a:b', 1.2)]);
  });

  it('keeps what is not a weight as text, at ×1.1 for the parentheses', () => {
    expectSegments('(cat:1e2)', [seg('cat:1e2', 1.1)]);
    expectSegments('(cat:1.2.3)', [seg('cat:1.2.3', 1.1)]);
    expectSegments('(a:b)', [seg('a:b', 1.1)]);
    expectSegments('(ratio: wide)', [seg('ratio: wide', 1.1)]);
    // Weights only in parentheses.
    expectSegments('[x:1.2]', [seg('x:1.2', 1 / 1.1)]);
    // A weight needs text to weight.
    expectSegments('(:1.2)', [seg(':1.2', 1.1)]);
  });

  it('reads a digit, a colon and an integer as a ratio or a time, not a weight', () => {
    expectSegments('(16:9)', [seg('16:9', 1.1)]);
    expectSegments('(4:3)', [seg('4:3', 1.1)]);
    expectSegments('(wide, 16:9)', [seg('wide, 16:9', 1.1)]);
    expect(parseWeightedPrompt('16:9 at 12:30')).toEqual([seg('16:9 at 12:30')]);
    // A decimal point or a space after the colon makes it a weight.
    expectSegments('(score_9:1.2)', [seg('score_9', 1.2)]);
    expectSegments('(1990: 2)', [seg('1990', 2)]);
  });

  it('treats empty groups as text', () => {
    expect(parseWeightedPrompt('a () b [ ] c')).toEqual([seg('a () b [ ] c')]);
    expectSegments('(())', [seg('()', 1.1)]);
  });

  it('keeps whitespace inside segments and allows it around the weight', () => {
    expectSegments('( red : 1.2 )', [seg(' red ', 1.2)]);
    expectSegments('a  (b:1.5)\n c', [seg('a  '), seg('b', 1.5), seg('\n c')]);
    expect(parseWeightedPrompt('(  )')).toEqual([seg('(  )')]);
  });
});

describe('tokenizeWeighted', () => {
  it('gives exactly the ids of tokenizeChunks for prompts without weight syntax, all weighing 1', () => {
    const prompts = ['', 'a', 'hello a', "Don't stop, it's fine", '猫 🐱 café', 'a '.repeat(100), `${'hello '.repeat(80)}don't`, 'a '.repeat(150), 'smile :) and :( a] (b', 'sad :( then happy :)', '16:9', 'x) (y'];
    for (const t of [tokenizer, tokenizerBang]) {
      for (const prompt of prompts) {
        const { ids, weights } = tokenizeWeighted(t, prompt);
        expect(ids, prompt).toEqual(t.tokenizeChunks(prompt));
        expect(weights, prompt).toEqual(ids.map((w) => w.map(() => 1)));
      }
    }
  });

  it('puts a weight on exactly the tokens of its segment; BOS, EOS and padding weigh 1', () => {
    const { ids, weights } = tokenizeWeighted(tokenizer, 'a (hello b:1.5) [c]');
    expect(ids).toEqual([window77([BOS, A, HELLO, B, C, EOS], EOS)]);
    expect(weights).toEqual([window77([1, 1, 1.5, 1.5, 1 / 1.1, 1], 1)]);
    // The syntax removed, the ids are those of the plain text.
    expect(ids).toEqual(tokenizer.tokenizeChunks('a hello b c'));
  });

  it('weights every token of a multi-token word, punctuation and digits included', () => {
    // 猫 = 3 byte tokens; "16:9" = 1, 6, :, 9; "hi!" = h, i, !.
    const { ids, weights } = tokenizeWeighted(tokenizerBang, '(猫:2) (16:9) hi!');
    expect(ids[0]!.slice(0, 12)).toEqual([BOS, 163, 234, 360, end('1'), end('6'), end(':'), end('9'), ch('h'), end('i'), end('!'), EOS]);
    expect(ids[0]!.slice(12)).toEqual(Array<number>(65).fill(0));
    expect(weights[0]!.slice(0, 12)).toEqual([1, 2, 2, 2, 1.1, 1.1, 1.1, 1.1, 1, 1, 1, 1]);
  });

  it('never merges BPE symbols across a segment boundary', () => {
    // "abc" is one word; split by the syntax it is three.
    expect(tokenizer.encode('abc')).toEqual([ch('a'), ch('b'), C]);
    expect(tokenizeWeighted(tokenizer, 'a(b:1.2)c').ids[0]!.slice(0, 5)).toEqual([BOS, A, B, C, EOS]);
    // "hello" merges to one token, "hel" + "lo" cannot: he, l</w> | l, o</w>.
    expect(tokenizeWeighted(tokenizer, '(hello:1.2)').ids[0]!.slice(0, 3)).toEqual([BOS, HELLO, EOS]);
    const split = tokenizeWeighted(tokenizer, 'hel(lo:1.2)');
    expect(split.ids[0]!.slice(0, 6)).toEqual([BOS, 512, end('l'), ch('l'), end('o'), EOS]);
    expect(split.weights[0]!.slice(0, 6)).toEqual([1, 1, 1, 1.2, 1.2, 1]);
  });

  it('splits a weighted segment across a window boundary with its weights', () => {
    const prompt = `${'a '.repeat(74)}(hello a b:1.5) c`;
    const { ids, weights } = tokenizeWeighted(tokenizer, prompt);
    expect(ids).toEqual(tokenizer.tokenizeChunks(`${'a '.repeat(74)}hello a b c`));
    expect(ids).toEqual([[BOS, ...Array<number>(74).fill(A), HELLO, EOS], window77([BOS, A, B, C, EOS], EOS)]);
    expect(weights).toEqual([[1, ...Array<number>(74).fill(1), 1.5, 1], window77([1, 1.5, 1.5, 1, 1], 1)]);
  });
});

describe('applyTokenWeights', () => {
  it('returns the same array when every weight is 1', () => {
    const states = Float32Array.from([1, 2, 3, 4]);
    expect(applyTokenWeights(states, [1, 1], 2)).toBe(states);
  });

  it('scales tokens, then restores the mean', () => {
    // [1, 3] [2, 2] → token 1 ×3: [1, 3] [6, 6] (sum 16), rescaled by 8/16.
    expect(Array.from(applyTokenWeights(Float32Array.from([1, 3, 2, 2]), [1, 3], 2))).toEqual([0.5, 1.5, 3, 3]);
  });

  it('skips the rescale when the weighted mean is 0 instead of dividing by it', () => {
    // [2] [-1] → token 0 ×0.5: [1] [-1], sum 0.
    expect(Array.from(applyTokenWeights(Float32Array.from([2, -1]), [0.5, 1], 1))).toEqual([1, -1]);
  });

  it('rejects weights that do not match the states', () => {
    expect(() => applyTokenWeights(new Float32Array(6), [2, 1], 2)).toThrowError(/2 weights for 3 tokens/);
  });
});

/**
 * The encoder math on tiny text encoders (hidden_states.k = embedding + k).
 * Almost every token embeds as [1, 1], so window means are easy by hand.
 */
const embedSd = (id: number) => (id === A ? [3, 1] : id === HELLO ? [5, -1] : [1, 1]);
const embedXl1 = (id: number) => (id === HELLO ? [2, 1] : [0, 1]);
const embedXl2 = (id: number) => (id === HELLO ? [3] : [1]);

const graphs = new TestGraphs('koma-weighted-');
const load = (name: string, bytes: Uint8Array) => graphs.load(name, bytes);

let sdEncoder: OnnxComponent;
let xlEncoder1: OnnxComponent;
let xlEncoder2: OnnxComponent;
beforeAll(async () => {
  sdEncoder = await load('sd.onnx', tinyTextEncoder({ dim: 2, embed: embedSd }));
  xlEncoder1 = await load('xl-1.onnx', tinyTextEncoder({ dim: 2, layers: 2, embed: embedXl1 }));
  xlEncoder2 = await load('xl-2.onnx', tinyTextEncoder({ dim: 1, layers: 2, pooledDim: 2, embed: embedXl2 }));
});
afterAll(() => graphs.releaseAll());

const sd = () => new PromptEncoder([{ tokenizer, encoder: sdEncoder }], 'last');
const sdxl = () =>
  new PromptEncoder(
    [
      { tokenizer, encoder: xlEncoder1 },
      { tokenizer: tokenizerBang, encoder: xlEncoder2 },
    ],
    'penultimate',
  );

function expectClose(actual: Float32Array, expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((v, i) => expect(actual[i], `value ${i}`).toBeCloseTo(v, 5));
}
const mean = (values: ArrayLike<number>) => Array.from(values).reduce((s, v) => s + v, 0) / values.length;
const ones = (n: number) => Array<number[]>(n).fill([1, 1]).flat();

describe('PromptEncoder with weights', () => {
  it('scales a weighted token by its weight, then the window to its unweighted mean', async () => {
    const [out] = await sd().encode(['a (hello:2)']);
    // Tokens: BOS, a [3, 1], hello [5, −1], EOS, 73 padding; all but a and hello are [1, 1].
    // Unweighted sum 75·2 + 4 + 4 = 158; hello ×2 → [10, −2]: sum 162; scale 158/162.
    const s = 158 / 162;
    expectClose(out!.hidden, [s, s, 3 * s, s, 10 * s, -2 * s, ...ones(74).map((v) => v * s)]);
    const [plain] = await sd().encode(['a hello']);
    expect(mean(out!.hidden)).toBeCloseTo(mean(plain!.hidden), 6);
  });

  it('divides by 1.1 for [text] and zeroes a token of weight 0', async () => {
    const [down, zero] = await sd().encode(['[a] hello', '(a:0) hello']);
    // a ÷1.1 → [3/1.1, 1/1.1]: sum 154 + 4/1.1.
    const s = 158 / (154 + 4 / 1.1);
    expectClose(down!.hidden, [s, s, (3 / 1.1) * s, (1 / 1.1) * s, 5 * s, -s, ...ones(74).map((v) => v * s)]);
    // a ×0: sum 154.
    const z = 158 / 154;
    expectClose(zero!.hidden, [z, z, 0, 0, 5 * z, -z, ...ones(74).map((v) => v * z)]);
  });

  it('is bit-identical to the plain prompt when every weight is 1', async () => {
    const weighted = await sd().encode(['(a:1) hello', '([hello]) a', 'smile :)']);
    const plain = await sd().encode(['a hello', 'hello a', 'smile :)'], { weighted: false });
    expect(weighted.map((e) => Array.from(e.hidden))).toEqual(plain.map((e) => Array.from(e.hidden)));
  });

  it('reads brackets and colons as text with weighted: false', async () => {
    const [out] = await sd().encode(['(hello:2)'], { weighted: false });
    // "(", "hello", ":", "2", ")" are tokens, each embedded [1, 1] except hello.
    const ids = window77([BOS, end('('), HELLO, end(':'), end('2'), end(')'), EOS], EOS);
    expect(Array.from(out!.hidden)).toEqual(ids.flatMap(embedSd));
  });

  it('restores the mean of each window separately, and leaves other prompts of the batch alone', async () => {
    const [long, short] = await sd().encode([`${'a '.repeat(74)}(hello a:2)`, 'a hello']);
    expect(long!.tokens).toBe(154);
    // Window 0: BOS, 74 × a [3, 1], hello ×2, EOS. Unweighted 2 + 74·4 + 4 + 2 = 304; weighted 2 + 296 + 8 + 2 = 308.
    const s0 = 304 / 308;
    // Window 1: BOS, a ×2, EOS, 74 padding. Unweighted 76·2 + 4 = 156; weighted 152 + 8 = 160.
    const s1 = 156 / 160;
    const first = [s0, s0, ...Array<number[]>(74).fill([3 * s0, s0]).flat(), 10 * s0, -2 * s0, s0, s0];
    const second = [s1, s1, 6 * s1, 2 * s1, ...ones(75).map((v) => v * s1)];
    expectClose(long!.hidden, [...first, ...second]);
    // The short prompt: its own states, and an unweighted empty second window.
    const shortIds = [...window77([BOS, A, HELLO, EOS], EOS), ...window77([BOS, EOS], EOS)];
    expect(Array.from(short!.hidden)).toEqual(shortIds.flatMap(embedSd));
  });

  it('SDXL: restores each encoder’s mean on its own and keeps the pooled embedding unweighted', async () => {
    const [out] = await sdxl().encode(['(hello:2)']);
    // Penultimate = embedding + 1. Encoder 1: [1, 2] per token, hello [3, 2]; encoder 2: [2], hello [4].
    // Tokens: BOS, hello, EOS, 74 padding.
    const s1 = (76 * 3 + 5) / (76 * 3 + 10); // 233 / 238
    const s2 = (76 * 2 + 4) / (76 * 2 + 8); // 156 / 160
    const other = [s1, 2 * s1, 2 * s2];
    expectClose(out!.hidden, [...other, 6 * s1, 4 * s1, 8 * s2, ...Array<number[]>(75).fill(other).flat()]);
    // text_embeds: last layer (embedding + 2) at EOS, [3] repeated, exactly as without weights.
    expect(Array.from(out!.pooled!)).toEqual([3, 3]);
    const [plain] = await sdxl().encode(['hello']);
    expect(Array.from(out!.pooled!)).toEqual(Array.from(plain!.pooled!));
  });
});
