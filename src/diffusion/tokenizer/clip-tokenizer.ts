import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { byteEncode } from './byte-encoding.js';

/**
 * The CLIP BPE tokenizer, matching Hugging Face's fast tokenizer (tokenizer.json
 * semantics): NFC, whitespace runs collapsed, lower case; split by the CLIP
 * pattern; byte-level encoding; BPE with `</w>` on each word's last symbol;
 * [BOS] + at most 75 content tokens + [EOS], padded to 77. Truncating the
 * content (not the whole sequence) keeps EOS, whose position CLIP pools at.
 *
 * Padding differs by model: SD 1.x and SDXL's first tokenizer pad with
 * <|endoftext|> (49407); SD 2.x and SDXL's second pad with "!" (id 0). (In HF's
 * SDXL tokenizer_2 a literal "!" in the prompt is also id 0; the padding id is
 * configurable here and prompts are encoded by the vocabulary.)
 */
export const CLIP_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
export const MAX_LENGTH = 77;

export interface ClipTokenizerOptions {
  vocab: Record<string, number>;
  /** Merge rules in priority order, each "a b". */
  merges: string[];
  padTokenId?: number;
  bosTokenId?: number;
  eosTokenId?: number;
  maxLength?: number;
}

export class ClipTokenizer {
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly maxLength: number;
  private readonly vocab: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();

  constructor(options: ClipTokenizerOptions) {
    this.vocab = new Map(Object.entries(options.vocab));
    this.ranks = new Map(options.merges.map((m, i) => [m, i]));
    this.bosTokenId = options.bosTokenId ?? this.vocab.get('<|startoftext|>') ?? 49406;
    this.eosTokenId = options.eosTokenId ?? this.vocab.get('<|endoftext|>') ?? 49407;
    this.padTokenId = options.padTokenId ?? this.eosTokenId;
    this.maxLength = options.maxLength ?? MAX_LENGTH;
  }

  /** Reads `vocab.json` and `merges.txt` (a `#version` first line is skipped). */
  static async fromFiles(dir: string, options: { padTokenId?: number } = {}): Promise<ClipTokenizer> {
    const vocab = JSON.parse(await readFile(path.join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
    const merges = (await readFile(path.join(dir, 'merges.txt'), 'utf8'))
      .split('\n')
      .filter((line, i) => line.trim() !== '' && !(i === 0 && line.startsWith('#version')));
    return new ClipTokenizer({ vocab, merges, ...options });
  }

  static normalize(text: string): string {
    return text.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase();
  }

  /** Content token ids, without BOS/EOS or truncation. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of ClipTokenizer.normalize(text).matchAll(CLIP_PATTERN)) ids.push(...this.encodeWord(match[0]));
    return ids;
  }

  /** Exactly `maxLength` ids: BOS, up to 75 content ids, EOS, padding. */
  tokenize(text: string): number[] {
    return this.frame(this.encode(text).slice(0, this.maxLength - 2));
  }

  /** Long prompts as several 77-token windows of 75 content tokens each (at least one). */
  tokenizeChunks(text: string): number[][] {
    const ids = this.encode(text);
    const size = this.maxLength - 2;
    const chunks: number[][] = [];
    for (let i = 0; i < Math.max(1, ids.length); i += size) chunks.push(this.frame(ids.slice(i, i + size)));
    return chunks;
  }

  private frame(content: number[]): number[] {
    const out = [this.bosTokenId, ...content, this.eosTokenId];
    while (out.length < this.maxLength) out.push(this.padTokenId);
    return out;
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const symbols = [...byteEncode(word)];
    symbols[symbols.length - 1] += '</w>';
    // Merge the best-ranked adjacent pair until no pair has a rule.
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      symbols.splice(best, 2, symbols[best]! + symbols[best + 1]!);
    }
    const ids = symbols.map((s) => {
      const id = this.vocab.get(s);
      if (id === undefined) throw new Error(`token "${s}" is missing from the vocabulary`);
      return id;
    });
    this.cache.set(word, ids);
    return ids;
  }
}
