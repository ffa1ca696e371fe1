import type { ClipTokenizer } from './clip-tokenizer.js';

/**
 * Weighted prompts, the AUTOMATIC1111 emphasis convention:
 *
 *   (text)        weight ×1.1        ((text)) ×1.21, nesting multiplies
 *   [text]        weight ÷1.1
 *   (text:1.3)    weight ×1.3        the number replaces the ×1.1 of the parentheses
 *   \( \) \[ \] \: \\               the literal character
 *
 * Rules for what users type by accident (nothing here is ever an error):
 * - Emoticons are text: a bracket right after ":", ";" or "=" (a "-" may
 *   sit between) never opens or closes a group, so "sad :( then happy :)"
 *   and "(smile :-))" read as users mean them.
 * - A bracket without its partner is text: "a) b" and "(rain" are literal.
 *   An opener left unclosed at the end becomes text, while groups
 *   nested inside it keep their weights ("(rain (red:1.2)" still weights "red").
 *   A closer only closes the innermost open group of its own kind, so in
 *   "(a [b) c]" the ")" is text and "[b) c]" is the group.
 * - An empty group ("()", "[ ]") is text: it has nothing to weight, so it was
 *   most likely meant as characters.
 * - `:<number>)` is a weight only in parentheses (not square brackets), with
 *   some text before it, and with a plain decimal: 1, 1.25, .5, +2, -1 (no
 *   exponents). Out-of-range weights are clamped to 0..3: "(cat:5)" clearly
 *   asks for a lot of cat, and 3 is already far past what models tolerate;
 *   below 0 would invert the embedding, so it stops at 0.
 * - A colon between a digit and an integer ("16:9", "4:3", "12:30") is a ratio
 *   or a time, never a weight: "(16:9)" is the text "16:9" at ×1.1, not "16"
 *   at weight 3. A decimal point or a space makes it a weight again:
 *   "(score_9:1.2)", "(1990: 2)".
 * - Anything else that is not a weight is text, colons included
 *   ("(a:b)", "(:1.2)", "(cat:1e2)" at ×1.1).
 */
export interface WeightedSegment {
  text: string;
  weight: number;
}

export const EMPHASIS = 1.1;
export const MIN_WEIGHT = 0;
export const MAX_WEIGHT = 3;

type Node = string | Group;
interface Group {
  open: '(' | '[';
  children: Node[];
  /** The explicit weight of `(text:w)`; otherwise ×1.1 or ÷1.1 by the bracket. */
  weight?: number;
}

const ESCAPABLE = new Set(['(', ')', '[', ']', ':', '\\']);
/** `:` then a plain decimal then `)`, whitespace allowed around the number. */
const WEIGHT = /:\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*\)/y;
const DIGIT = /\d/;
const RATIO = /^:\d+\s*\)$/;
/** The eyes (and nose) of an emoticon, just before a bracket. */
const EYES = /[:;=]-?$/;

/**
 * The prompt as segments of equal weight, in order: empty segments dropped,
 * neighbours of the same weight merged. Joining the texts gives the prompt
 * with the syntax removed, which is what gets tokenized.
 */
export function parseWeightedPrompt(text: string): WeightedSegment[] {
  const root: Group = { open: '(', children: [] };
  const stack: Group[] = [root];
  const top = () => stack[stack.length - 1]!;
  const append = (s: string) => {
    const children = top().children;
    const last = children.length - 1;
    if (typeof children[last] === 'string') children[last] += s;
    else children.push(s);
  };
  const close = (weight?: number) => {
    const group = stack.pop()!;
    if (weight !== undefined) group.weight = weight;
    top().children.push(group);
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const inner = stack.length > 1 ? top() : undefined;
    if (c === '\\' && ESCAPABLE.has(text[i + 1] ?? '')) {
      append(text[++i]!);
    } else if ('()[]'.includes(c) && EYES.test(text.slice(Math.max(0, i - 2), i))) {
      append(c);
    } else if (c === '(' || c === '[') {
      stack.push({ open: c, children: [] });
    } else if ((c === ')' && inner?.open === '(') || (c === ']' && inner?.open === '[')) {
      if (hasText(inner)) close();
      else dissolve(stack.pop()!, top().children, c);
    } else if (c === ':' && inner?.open === '(') {
      WEIGHT.lastIndex = i;
      const match = WEIGHT.exec(text);
      // "16:9": a digit, the colon, then an integer right after it.
      const ratio = match !== null && DIGIT.test(text[i - 1] ?? '') && RATIO.test(match[0]);
      if (match && !ratio && hasText(inner)) {
        close(Math.min(MAX_WEIGHT, Math.max(MIN_WEIGHT, Number(match[1]))));
        i += match[0].length - 1;
      } else {
        append(c);
      }
    } else {
      append(c);
    }
  }
  // Unclosed openers become text; what they contain keeps its own weights.
  while (stack.length > 1) dissolve(stack.pop()!, top().children);

  const segments: WeightedSegment[] = [];
  flatten(root.children, 1, segments);
  return segments;
}

/** Puts a group back into its parent as text: the opener, its children, the closer if any. */
function dissolve(group: Group, into: Node[], closer = ''): void {
  for (const node of [group.open, ...group.children, closer]) {
    const last = into.length - 1;
    if (typeof node === 'string' && typeof into[last] === 'string') into[last] += node;
    else into.push(node);
  }
}

function hasText(group: Group): boolean {
  return group.children.some((n) => (typeof n === 'string' ? n.trim() !== '' : hasText(n)));
}

function flatten(nodes: readonly Node[], weight: number, out: WeightedSegment[]): void {
  for (const node of nodes) {
    if (typeof node !== 'string') {
      // Dividing (not multiplying by 1/1.1) makes "([x])" exactly 1.
      const inner = node.weight !== undefined ? weight * node.weight : node.open === '(' ? weight * EMPHASIS : weight / EMPHASIS;
      flatten(node.children, inner, out);
      continue;
    }
    if (node === '') continue;
    const last = out[out.length - 1];
    if (last && last.weight === weight) last.text += node;
    else out.push({ text: node, weight });
  }
}

export interface WeightedTokens {
  /** Windows of exactly `maxLength` ids: BOS, up to 75 content ids, EOS, padding (at least one window). */
  ids: number[][];
  /** The same shape: each token's weight; BOS, EOS and padding weigh 1. */
  weights: number[][];
}

/**
 * Ids and per-token weights in the windows of `tokenizer.tokenizeChunks`.
 * Each segment is encoded on its own, so BPE merges never cross a segment
 * boundary ("a(b:1.2)c" is three words), as in A1111; segments of equal weight
 * are merged first, so a prompt without syntax tokenizes exactly as
 * `tokenizeChunks` does.
 */
export function tokenizeWeighted(tokenizer: ClipTokenizer, text: string): WeightedTokens {
  const content: number[] = [];
  const contentWeights: number[] = [];
  for (const segment of parseWeightedPrompt(text)) {
    for (const id of tokenizer.encode(segment.text)) {
      content.push(id);
      contentWeights.push(segment.weight);
    }
  }
  const size = tokenizer.maxLength - 2;
  const ids: number[][] = [];
  const weights: number[][] = [];
  for (let i = 0; i < Math.max(1, content.length); i += size) {
    const windowIds = [tokenizer.bosTokenId, ...content.slice(i, i + size), tokenizer.eosTokenId];
    const windowWeights = [1, ...contentWeights.slice(i, i + size), 1];
    while (windowIds.length < tokenizer.maxLength) {
      windowIds.push(tokenizer.padTokenId);
      windowWeights.push(1);
    }
    ids.push(windowIds);
    weights.push(windowWeights);
  }
  return { ids, weights };
}

/**
 * A1111's emphasis on one window of hidden states [tokens, dim]: every token's
 * features are multiplied by its weight, then the whole window is rescaled so
 * its mean is the unweighted mean again. The rescale keeps the overall
 * magnitude the UNet was trained on, so weights shift attention between
 * tokens instead of making the whole prompt louder or quieter.
 * All weights 1 returns `states` itself (bit-identical, nothing computed); a
 * weighted mean of exactly 0 skips the rescale rather than dividing by zero.
 */
export function applyTokenWeights(states: Float32Array, weights: readonly number[], dim: number): Float32Array {
  if (weights.every((w) => w === 1)) return states;
  if (weights.length * dim !== states.length) throw new Error(`${weights.length} weights for ${states.length / dim} tokens`);
  const out = new Float32Array(states.length);
  let before = 0;
  let after = 0;
  for (let t = 0; t < weights.length; t++) {
    for (let d = t * dim; d < (t + 1) * dim; d++) {
      out[d] = states[d]! * weights[t]!;
      before += states[d]!;
      after += out[d]!;
    }
  }
  // Same element count on both sides, so the ratio of sums is the ratio of means.
  if (after !== 0) {
    const scale = before / after;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * scale;
  }
  return out;
}
