import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../src/diffusion/tokenizer/clip-tokenizer.js';
import { HELLO_MERGES, helloVocab } from './support/clip-vocab.js';

/**
 * A small CLIP-shaped vocabulary built here from the spec, not from the code:
 * ids 0..255 are the 256 byte characters in CLIP's order (printable bytes
 * 33–126, 161–172, 174–255 first, keeping their own code points; the other
 * bytes after them as U+0100 onward), 256..511 the same with `</w>`, plus a few
 * merges for "hello". Expected ids below are worked out by hand from that.
 */
const vocab = helloVocab();
const merges = HELLO_MERGES;

const BOS = 49406;
const EOS = 49407;
const tokenizer = new ClipTokenizer({ vocab, merges });

// Hand-worked ids: printable byte b has id b−33 (33–126), 94+(b−161) (161–172), 106+(b−174) (174–255).
const A_END = 256 + (97 - 33); // "a</w>" = 320

describe('CLIP tokenizer', () => {
  it('merges by rank and lowercases: "Hello" is one token', () => {
    expect(tokenizer.encode('Hello')).toEqual([600]);
    expect(tokenizer.encode('HELLO  hello')).toEqual([600, 600]);
  });

  it('splits apostrophe suffixes like CLIP', () => {
    // don't → d o n</w> ' t</w>
    expect(tokenizer.encode("don't")).toEqual([100 - 33, 111 - 33, 256 + 110 - 33, 39 - 33, 256 + 116 - 33]);
    // it's → i t</w> ' s</w>
    expect(tokenizer.encode("it's")).toEqual([105 - 33, 256 + 116 - 33, 39 - 33, 256 + 115 - 33]);
  });

  it('gives "!" the word-final id and punctuation its own pre-token', () => {
    expect(tokenizer.encode('!')).toEqual([256]);
    expect(tokenizer.encode('hello!')).toEqual([600, 256]);
  });

  it('treats accents by bytes and NFC and NFD input alike', () => {
    // é = C3 A9: Ã (195 → 106+21 = 127), © (169 → 94+8 = 102) word-final 358.
    const expected = [99 - 33, 97 - 33, 102 - 33, 127, 256 + 102];
    expect(tokenizer.encode('café')).toEqual(expected);
    expect(tokenizer.encode('cafe\u0301')).toEqual(expected);
  });

  it('collapses newlines and tabs', () => {
    expect(tokenizer.encode('a\n\t b')).toEqual([A_END, 256 + 98 - 33]);
  });

  it('spells emoji and CJK in bytes', () => {
    // 🐱 = F0 9F 90 B1: F0 → 106+66 = 172; 9F is not printable: the 66th such byte → 188+65 = 253;
    // 90 → 188+50 = 238; B1 → 106+3 = 109, word-final 365.
    expect(tokenizer.encode('🐱')).toEqual([172, 253, 238, 365]);
    // 猫 = E7 8C AB: E7 → 163; 8C → 188+46 = 234; AB → 94+10 = 104, word-final 360.
    expect(tokenizer.encode('猫')).toEqual([163, 234, 360]);
  });

  it('frames 77 tokens: BOS, content, EOS, padding', () => {
    expect(tokenizer.tokenize('')).toEqual([BOS, EOS, ...Array<number>(75).fill(EOS)]);
    const ids = tokenizer.tokenize('a');
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 4)).toEqual([BOS, A_END, EOS, EOS]);
  });

  it('pads with "!" (id 0) for SD 2 and SDXL\'s second encoder', () => {
    const sd2 = new ClipTokenizer({ vocab, merges, padTokenId: 0 });
    expect(sd2.tokenize('a').slice(0, 5)).toEqual([BOS, A_END, EOS, 0, 0]);
  });

  it('truncates long prompts to 75 content tokens so EOS survives, and chunks them on request', () => {
    const long = 'a '.repeat(100);
    const ids = tokenizer.tokenize(long);
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(BOS);
    expect(ids[76]).toBe(EOS);
    expect(ids.slice(1, 76).every((id) => id === A_END)).toBe(true);
    const chunks = tokenizer.tokenizeChunks(long);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]!.slice(0, 27)).toEqual([BOS, ...Array<number>(25).fill(A_END), EOS]);
    expect(tokenizer.tokenizeChunks('')).toHaveLength(1);
  });

  it('loads vocab.json and merges.txt from a folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'koma-tok-'));
    writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(path.join(dir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
    const loaded = await ClipTokenizer.fromFiles(dir);
    expect(loaded.tokenize("Hello, don't!")).toEqual(tokenizer.tokenize("Hello, don't!"));
    expect(loaded.encode('hello')).toEqual([600]);
  });
});
